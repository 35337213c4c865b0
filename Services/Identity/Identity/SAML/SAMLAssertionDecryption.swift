import CXMLSec
import Foundation

/// Decrypts a SAML `EncryptedAssertion` with libxmlsec1 and the tenant's own encryption keys, and
/// puts the assertion in its place, so that the signature check and everything after it run on the
/// decrypted assertion exactly as on a plain one (decrypt first, then verify).
///
/// Only RSA-OAEP key transport (`rsa-oaep-mgf1p`) and AES-128/256 in GCM or CBC are enabled:
/// PKCS#1 v1.5 key transport (Bleichenbacher) and external `CipherReference`s are not. Each step
/// sets its key on the context beforehand, so a `KeyInfo` never chooses one. Every failure — no
/// key fits, wrong padding, a tag that does not verify, plaintext that is not exactly one
/// assertion — is the same `nil`, so no padding or parsing oracle is offered.
struct SAMLAssertionDecryption {
    /// The tenant's encryption private keys (PEM), newest first; one, or two during a rollover.
    let privateKeysPEM: [String]

    static let encryptionNamespace = "http://www.w3.org/2001/04/xmlenc#"
    static let keyTransport = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"

    /// The content-encryption algorithms accepted, with their key length in bytes.
    private static var dataAlgorithms: [String: (keyBytes: Int, transform: xmlSecTransformId?)] {
        [
            "http://www.w3.org/2001/04/xmlenc#aes128-cbc": (16, xmlSecOpenSSLTransformAes128CbcGetKlass()),
            "http://www.w3.org/2001/04/xmlenc#aes256-cbc": (32, xmlSecOpenSSLTransformAes256CbcGetKlass()),
            "http://www.w3.org/2009/xmlenc11#aes128-gcm": (16, xmlSecOpenSSLTransformAes128GcmGetKlass()),
            "http://www.w3.org/2009/xmlenc11#aes256-gcm": (32, xmlSecOpenSSLTransformAes256GcmGetKlass()),
        ]
    }

    /// The content-encryption algorithms, as the SP metadata announces them.
    static var dataAlgorithmURIs: [String] { dataAlgorithms.keys.sorted().reversed() }

    /// Replaces `encrypted` (an `EncryptedAssertion`) in `document` with the assertion it holds;
    /// `nil` when it cannot be decrypted to exactly one assertion.
    func decrypt(_ encrypted: SAMLElement, in document: SAMLXMLDocument) -> SAMLElement? {
        let xenc = Self.encryptionNamespace, ds = SAMLResponseValidator.signatureNamespace
        let data = encrypted.children("EncryptedData", in: xenc)
        guard data.count == 1, let encryptedData = data.first,
              [nil, "http://www.w3.org/2001/04/xmlenc#Element"].contains(encryptedData.attribute("Type")),
              let algorithm = encryptedData.child("EncryptionMethod", in: xenc)?.attribute("Algorithm"),
              let (keyBytes, transform) = Self.dataAlgorithms[algorithm], Self.holdsCipherValue(encryptedData)
        else { return nil }
        // The key travels in the data's KeyInfo or, as several IdPs send it, beside the data.
        let encryptedKeys = (encryptedData.child("KeyInfo", in: ds)?.children("EncryptedKey", in: xenc) ?? [])
            + encrypted.children("EncryptedKey", in: xenc)
        guard (1...4).contains(encryptedKeys.count),
              encryptedKeys.allSatisfy({ $0.child("EncryptionMethod", in: xenc)?.attribute("Algorithm") == Self.keyTransport && Self.holdsCipherValue($0) })
        else { return nil }
        for encryptedKey in encryptedKeys {
            for pem in privateKeysPEM {
                guard let sessionKey = unwrap(encryptedKey, with: pem), sessionKey.count == keyBytes,
                      let plaintext = Self.decrypt(encryptedData, sessionKey: sessionKey, transform: transform)
                else { continue }
                return Self.replace(encrypted, with: plaintext, in: document)
            }
        }
        return nil
    }

    /// The session key an `EncryptedKey` holds, when `pem`'s private key unwraps it (RSA-OAEP only).
    private func unwrap(_ encryptedKey: SAMLElement, with pem: String) -> [UInt8]? {
        guard let key = Self.privateKey(pem: pem) else { return nil }
        return Self.decryptToBuffer(encryptedKey, mode: xmlEncCtxModeEncryptedKey, key: key, transform: xmlSecOpenSSLTransformRsaOaepGetKlass())
    }

    /// The plaintext of `encryptedData` under the session key, with only `transform` enabled.
    private static func decrypt(_ encryptedData: SAMLElement, sessionKey: [UInt8], transform: xmlSecTransformId?) -> [UInt8]? {
        let key = sessionKey.withUnsafeBufferPointer { xmlSecKeyReadMemory(xmlSecOpenSSLKeyDataAesGetKlass(), $0.baseAddress, UInt32($0.count)) }
        guard let key else { return nil }
        return decryptToBuffer(encryptedData, mode: xmlEncCtxModeEncryptedData, key: key, transform: transform)
    }

    /// One libxmlsec1 decryption of `node` (an `EncryptedKey` or `EncryptedData`, as `mode` says)
    /// with `key` (owned by the context from here on), only `transform` enabled and no URI of any kind.
    private static func decryptToBuffer(_ node: SAMLElement, mode: xmlEncCtxMode, key: xmlSecKeyPtr, transform: xmlSecTransformId?) -> [UInt8]? {
        guard let context = xmlSecEncCtxCreate(nil) else {
            xmlSecKeyDestroy(key)
            return nil
        }
        defer { xmlSecEncCtxDestroy(context) }
        context.pointee.mode = mode
        context.pointee.encKey = key
        context.pointee.transformCtx.enabledUris = xmlSecTransformUriType(xmlSecTransformUriTypeNone)
        guard let transform, xmlSecPtrListAdd(&context.pointee.transformCtx.enabledTransforms, UnsafeMutableRawPointer(mutating: transform)) >= 0,
              let buffer = xmlSecEncCtxDecryptToBuffer(context, node.pointer), let bytes = xmlSecBufferGetData(buffer)
        else { return nil }
        return Array(UnsafeBufferPointer(start: bytes, count: Int(xmlSecBufferGetSize(buffer))))
    }

    /// Whether the element's `CipherData` holds its cipher text inline (never a `CipherReference`).
    private static func holdsCipherValue(_ element: SAMLElement) -> Bool {
        let cipherData = element.children("CipherData", in: encryptionNamespace)
        return cipherData.count == 1 && cipherData[0].children.map(\.localName) == ["CipherValue"]
    }

    /// Parses the plaintext in the place of `encrypted` (its namespaces in scope, as the IdP
    /// serialized it), safely as a message, and swaps it in when it is exactly one `Assertion`.
    private static func replace(_ encrypted: SAMLElement, with plaintext: [UInt8], in document: SAMLXMLDocument) -> SAMLElement? {
        guard !plaintext.isEmpty, plaintext.count <= SAMLXMLDocument.maximumBytes, !SAMLXMLDocument.declaresDocumentType(Data(plaintext)) else { return nil }
        var list: xmlNodePtr?
        let status = plaintext.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                xmlParseInNodeContext(encrypted.pointer, chars.baseAddress, Int32(chars.count), SAMLXMLDocument.parseOptions, &list)
            }
        }
        var nodes: [xmlNodePtr] = []
        var node = list
        while let current = node {
            node = current.pointee.next
            xmlUnlinkNode(current)
            nodes.append(current)
        }
        let elements = nodes.filter { $0.pointee.type == XML_ELEMENT_NODE }
        let onlyWhitespaceBeside = nodes.allSatisfy { node in
            node.pointee.type == XML_ELEMENT_NODE
                || (node.pointee.type == XML_TEXT_NODE && (node.pointee.content.map { String(cString: $0) } ?? "").allSatisfy(\.isWhitespace))
        }
        guard status == XML_ERR_OK, onlyWhitespaceBeside, elements.count == 1,
              SAMLElement(pointer: elements[0]).is("Assertion", in: SAMLResponseValidator.assertionNamespace)
        else {
            nodes.forEach { xmlFreeNode($0) }
            return nil
        }
        let assertion = elements[0]
        nodes.filter { $0 != assertion }.forEach { xmlFreeNode($0) }
        xmlAddPrevSibling(encrypted.pointer, assertion)
        // Namespaces the assertion used from the EncryptedAssertion are declared on it before that goes.
        xmlReconciliateNs(document.pointer, assertion)
        xmlUnlinkNode(encrypted.pointer)
        xmlFreeNode(encrypted.pointer)
        return SAMLElement(pointer: assertion)
    }

    /// An RSA private key for libxmlsec1 from PEM.
    private static func privateKey(pem: String) -> xmlSecKeyPtr? {
        guard XMLSecurityLibrary.ready else { return nil }
        let bytes = Array(pem.utf8)
        return bytes.withUnsafeBufferPointer { buffer in
            xmlSecOpenSSLAppKeyLoadMemory(buffer.baseAddress, UInt32(buffer.count), xmlSecKeyDataFormatPem, nil, nil, nil)
        }
    }
}
