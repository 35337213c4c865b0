import CXMLSec
import Foundation

/// A SAML message parsed safely: bounded in size, no DTD (so no entities, no XML bombs), no
/// network access, UTF-8 only. Owns the libxml2 document and frees it with itself.
final class SAMLXMLDocument {
    /// The largest message accepted, before parsing.
    static let maximumBytes = 256 * 1024

    /// Why a message could not be parsed.
    enum ParseError: Error, Equatable {
        case tooLarge
        case documentTypeDeclaration
        case malformed
        case libraryUnavailable
    }

    let pointer: xmlDocPtr

    init(xml: Data) throws(ParseError) {
        guard XMLSecurityLibrary.ready else { throw .libraryUnavailable }
        guard xml.count <= Self.maximumBytes else { throw .tooLarge }
        // A DTD is how entities (billion laughs, external entities) and ID declarations get in;
        // SAML never needs one, so any is refused before the parser sees it.
        if Self.declaresDocumentType(xml) { throw .documentTypeDeclaration }
        let parsed = xml.withUnsafeBytes { bytes -> xmlDocPtr? in
            guard let base = bytes.baseAddress else { return nil }
            return xmlReadMemory(base.assumingMemoryBound(to: CChar.self), Int32(bytes.count), "saml.xml", "UTF-8", Self.parseOptions)
        }
        guard let parsed else { throw .malformed }
        guard parsed.pointee.intSubset == nil, parsed.pointee.extSubset == nil, xmlDocGetRootElement(parsed) != nil else {
            xmlFreeDoc(parsed)
            throw .documentTypeDeclaration
        }
        pointer = parsed
    }

    deinit { xmlFreeDoc(pointer) }

    /// No network, no error output; entities are not substituted (there are none without a DTD).
    static let parseOptions = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue | XML_PARSE_NOWARNING.rawValue)

    /// Whether `xml` holds a DTD or an entity declaration anywhere (refused before any parsing).
    static func declaresDocumentType(_ xml: Data) -> Bool {
        xml.range(of: Data("<!DOCTYPE".utf8)) != nil || xml.range(of: Data("<!ENTITY".utf8)) != nil
    }

    var root: SAMLElement? { xmlDocGetRootElement(pointer).map(SAMLElement.init) }

    /// Registers every `ID` attribute as an XML ID so same-document references resolve; `false`
    /// when two elements share an ID or an ID was already registered another way (`xml:id`), which
    /// is how a wrapped copy would make a reference point somewhere unexpected.
    func registerIDs() -> Bool {
        guard let root else { return false }
        var unique = true
        root.walk { element in
            var attribute = element.pointer.pointee.properties
            while let current = attribute {
                if current.pointee.ns == nil, String(cString: current.pointee.name) == "ID" {
                    let value = SAMLElement.text(of: current.pointee.children) ?? ""
                    if value.isEmpty || xmlAddID(nil, pointer, value, current) == nil { unique = false }
                } else if let ns = current.pointee.ns, let href = ns.pointee.href, String(cString: href) == "http://www.w3.org/XML/1998/namespace",
                          String(cString: current.pointee.name) == "id" {
                    unique = false
                }
                attribute = current.pointee.next
            }
        }
        return unique
    }

    /// The element whose registered ID is `id`.
    func element(withID id: String) -> SAMLElement? {
        guard let attribute = xmlGetID(pointer, id), let parent = attribute.pointee.parent else { return nil }
        return SAMLElement(pointer: parent)
    }
}

/// An element of a `SAMLXMLDocument`, valid while the document lives.
struct SAMLElement {
    let pointer: xmlNodePtr

    var localName: String { String(cString: pointer.pointee.name) }
    var namespace: String? { pointer.pointee.ns?.pointee.href.map { String(cString: $0) } }

    func `is`(_ name: String, in namespace: String) -> Bool { localName == name && self.namespace == namespace }

    /// An attribute without a namespace, as SAML's are.
    func attribute(_ name: String) -> String? {
        guard let attribute = xmlHasNsProp(pointer, name, nil) else { return nil }
        return Self.text(of: attribute.pointee.children) ?? ""
    }

    /// The direct child elements.
    var children: [SAMLElement] {
        var result: [SAMLElement] = []
        var node = pointer.pointee.children
        while let current = node {
            if current.pointee.type == XML_ELEMENT_NODE { result.append(SAMLElement(pointer: current)) }
            node = current.pointee.next
        }
        return result
    }

    func children(_ name: String, in namespace: String) -> [SAMLElement] { children.filter { $0.is(name, in: namespace) } }
    func child(_ name: String, in namespace: String) -> SAMLElement? { children(name, in: namespace).first }

    /// Every element below this one (itself included) with that name.
    func descendants(_ name: String, in namespace: String) -> [SAMLElement] {
        var found: [SAMLElement] = []
        walk { if $0.is(name, in: namespace) { found.append($0) } }
        return found
    }

    /// The element's text when it holds nothing but text; `nil` when it holds a comment, an
    /// element, a processing instruction or CDATA. A comment splitting a NameID is how
    /// CVE-2017-11427-style attacks make a parser read only part of the signed value.
    var textOnly: String? {
        var text = ""
        var node = pointer.pointee.children
        while let current = node {
            guard current.pointee.type == XML_TEXT_NODE else { return nil }
            text += current.pointee.content.map { String(cString: $0) } ?? ""
            node = current.pointee.next
        }
        return text
    }

    func walk(_ visit: (SAMLElement) -> Void) {
        visit(self)
        for child in children { child.walk(visit) }
    }

    /// Text of an attribute's value nodes.
    static func text(of node: xmlNodePtr?) -> String? {
        var text = ""
        var current = node
        while let each = current {
            text += each.pointee.content.map { String(cString: $0) } ?? ""
            current = each.pointee.next
        }
        return text
    }
}

extension SAMLElement: Equatable {
    static func == (lhs: SAMLElement, rhs: SAMLElement) -> Bool { lhs.pointer == rhs.pointer }
}
