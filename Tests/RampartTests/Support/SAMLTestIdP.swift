import Foundation
@testable import Identity
import RampartStorage

/// A SAML identity provider for tests: an RSA key and self-signed certificate made with `openssl`,
/// responses signed by the `xmlsec1` command-line tool (Debian `xmlsec1`), never by our own code.
struct SAMLTestIdP {
    let directory: URL
    let entityID: String
    /// Base64 DER, as a tenant pins it.
    let certificate: String

    var keyPath: String { directory.appendingPathComponent("idp.key").path }
    var certificatePath: String { directory.appendingPathComponent("idp.crt").path }
    var certificatePEM: String { (try? String(contentsOfFile: certificatePath, encoding: .utf8)) ?? "" }

    init(entityID: String = "https://idp.test/saml") throws {
        self.entityID = entityID
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("rampart-saml-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let key = directory.appendingPathComponent("idp.key").path, cert = directory.appendingPathComponent("idp.crt").path
        try Self.run("/usr/bin/openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                                          "-subj", "/CN=Test IdP", "-days", "2"])
        let der = try Self.run("/usr/bin/openssl", ["x509", "-in", cert, "-outform", "DER"])
        certificate = der.base64EncodedString()
    }

    /// Signs every `<ds:Signature>` template in `xml` with `xmlsec1`; `ids` names the elements
    /// whose `ID` attribute a reference may point to.
    /// With `hmacKey`, an HMAC signature keyed with those bytes instead of the RSA key.
    func sign(_ xml: String, ids: [String] = ["urn:oasis:names:tc:SAML:2.0:assertion:Assertion"], hmacKey: Data? = nil) throws -> String {
        let input = directory.appendingPathComponent("\(UUID().uuidString).xml")
        try xml.write(to: input, atomically: true, encoding: .utf8)
        var key = ["--privkey-pem", "\(keyPath),\(certificatePath)"]
        if let hmacKey {
            let file = directory.appendingPathComponent("\(UUID().uuidString).hmac")
            try hmacKey.write(to: file)
            key = ["--hmackey", file.path]
        }
        let arguments = ["--sign"] + key + ids.flatMap { ["--id-attr:ID", $0] } + [input.path]
        return String(decoding: try Self.run("/usr/bin/xmlsec1", arguments), as: UTF8.self)
    }

    /// The IdP's metadata, as an admin would import it.
    func metadataXML(ssoURL: String = "https://idp.test/sso") -> String {
        """
        <md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="\(entityID)">
          <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
            <md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data>
              <ds:X509Certificate>\(certificate)</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
            <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://idp.test/post"/>
            <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="\(ssoURL)"/>
          </md:IDPSSODescriptor>
        </md:EntityDescriptor>
        """
    }

    /// Runs `tool` to its end on this thread (the signing helpers are synchronous).
    @discardableResult
    static func run(_ tool: String, _ arguments: [String], input: Data? = nil) throws -> Data {
        let result = try Subprocess(tool, arguments, input: input).runHere()
        guard result.status == 0 else { throw ToolFailed(tool: tool, message: result.errorOutput) }
        return result.outputData
    }

    struct ToolFailed: Error, CustomStringConvertible {
        var tool: String
        var message: String
        var description: String { "\(tool) failed: \(message)" }
    }
}

/// A SAML response as an IdP would send it, every field adjustable so a test can break one.
struct SAMLResponseSpec {
    enum Algorithm { case sha256, sha1, hmacSHA256 }

    var issuer = "https://idp.test/saml"
    var acsURL = "https://acme.eu.localhost:8443/auth/saml/acs"
    var audience = "https://acme.eu.localhost:8443/auth/saml/metadata"
    var destination: String?
    var recipient: String?
    var inResponseTo: String? = "_0123456789abcdef0123456789abcdef"
    var responseID = "_r" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    var assertionID = "_a" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    var nameID = "ada-subject-1"
    var attributes: [(String, [String])] = [("email", ["ada@acme.test"]), ("name", ["Ada Lovelace"]), ("groups", ["helpdesk-agents"])]
    var authnContext = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
    var notBefore = Date.now.addingTimeInterval(-60)
    var notOnOrAfter = Date.now.addingTimeInterval(300)
    var status = "urn:oasis:names:tc:SAML:2.0:status:Success"
    var algorithm = Algorithm.sha256
    /// A signature template in the assertion (signed by `SAMLTestIdP.sign`); `false` leaves it unsigned.
    var signed = true
    /// Where the assertion's signature reference points; by default the assertion itself.
    var referenceURI: String?
    /// Extra children of the response, after the status (for wrapping attacks).
    var extraResponseXML = ""

    static func time(_ date: Date) -> String { ISO8601DateFormatter().string(from: date) }

    var signatureTemplate: String {
        let (method, digest) = switch algorithm {
        case .sha256: ("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", "http://www.w3.org/2001/04/xmlenc#sha256")
        case .sha1: ("http://www.w3.org/2000/09/xmldsig#rsa-sha1", "http://www.w3.org/2000/09/xmldsig#sha1")
        case .hmacSHA256: ("http://www.w3.org/2001/04/xmldsig-more#hmac-sha256", "http://www.w3.org/2001/04/xmlenc#sha256")
        }
        return """
        <ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>\
        <ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>\
        <ds:SignatureMethod Algorithm="\(method)"/>\
        <ds:Reference URI="\(referenceURI ?? "#" + assertionID)"><ds:Transforms>\
        <ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>\
        <ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms>\
        <ds:DigestMethod Algorithm="\(digest)"/><ds:DigestValue/></ds:Reference></ds:SignedInfo>\
        <ds:SignatureValue/><ds:KeyInfo><ds:X509Data/></ds:KeyInfo></ds:Signature>
        """
    }

    /// The assertion alone (with its signature template when `signed`).
    var assertionXML: String {
        let inResponse = inResponseTo.map { " InResponseTo=\"\($0)\"" } ?? ""
        let attributeXML = attributes.map { name, values in
            "<saml:Attribute Name=\"\(name)\">" + values.map { "<saml:AttributeValue>\($0)</saml:AttributeValue>" }.joined() + "</saml:Attribute>"
        }.joined()
        return """
        <saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="\(assertionID)" Version="2.0" IssueInstant="\(Self.time(.now))">\
        <saml:Issuer>\(issuer)</saml:Issuer>\(signed ? signatureTemplate : "")\
        <saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified">\(nameID)</saml:NameID>\
        <saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">\
        <saml:SubjectConfirmationData\(inResponse) NotOnOrAfter="\(Self.time(notOnOrAfter))" Recipient="\(recipient ?? acsURL)"/>\
        </saml:SubjectConfirmation></saml:Subject>\
        <saml:Conditions NotBefore="\(Self.time(notBefore))" NotOnOrAfter="\(Self.time(notOnOrAfter))">\
        <saml:AudienceRestriction><saml:Audience>\(audience)</saml:Audience></saml:AudienceRestriction></saml:Conditions>\
        <saml:AuthnStatement AuthnInstant="\(Self.time(.now))" SessionIndex="s1"><saml:AuthnContext>\
        <saml:AuthnContextClassRef>\(authnContext)</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>\
        <saml:AttributeStatement>\(attributeXML)</saml:AttributeStatement></saml:Assertion>
        """
    }

    /// The response around `assertion` (by default this spec's assertion).
    func responseXML(assertion: String? = nil) -> String {
        let inResponse = inResponseTo.map { " InResponseTo=\"\($0)\"" } ?? ""
        return """
        <?xml version="1.0" encoding="UTF-8"?>
        <samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" \
        ID="\(responseID)" Version="2.0" IssueInstant="\(Self.time(.now))" Destination="\(destination ?? acsURL)"\(inResponse)>\
        <saml:Issuer>\(issuer)</saml:Issuer>\
        <samlp:Status><samlp:StatusCode Value="\(status)"/></samlp:Status>\(extraResponseXML)\(assertion ?? assertionXML)</samlp:Response>
        """
    }

    /// The response signed by `idp`.
    func signed(by idp: SAMLTestIdP) throws -> String { try idp.sign(responseXML()) }
}

/// XML Encryption as an IdP applies it to an assertion, done by the `xmlsec1` command-line tool.
enum SAMLTestEncryption {
    /// The content-encryption algorithms Rampart accepts.
    enum Content: String, CaseIterable {
        case aes128CBC = "http://www.w3.org/2001/04/xmlenc#aes128-cbc"
        case aes256CBC = "http://www.w3.org/2001/04/xmlenc#aes256-cbc"
        case aes128GCM = "http://www.w3.org/2009/xmlenc11#aes128-gcm"
        case aes256GCM = "http://www.w3.org/2009/xmlenc11#aes256-gcm"

        var sessionKey: String { self == .aes128CBC || self == .aes128GCM ? "aes-128" : "aes-256" }
    }

    static let oaep = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"

    /// `assertion` (signed already, or not) encrypted to `certificate` (base64 DER) as an
    /// `EncryptedAssertion`; with `keyBesideData`, the `EncryptedKey` follows the `EncryptedData`
    /// instead of sitting in its `KeyInfo`, as several IdPs send it.
    static func encryptedAssertion(_ assertion: String, to certificate: String, content: Content = .aes256GCM,
                                   keyTransport: String = oaep, keyBesideData: Bool = false) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rampart-saml-enc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let (data, template, cert) = (directory.appendingPathComponent("assertion.xml"), directory.appendingPathComponent("template.xml"),
                                      directory.appendingPathComponent("sp.crt"))
        try assertion.write(to: data, atomically: true, encoding: .utf8)
        try (SAMLCertificate.pem(base64DER: certificate) ?? "").write(to: cert, atomically: true, encoding: .utf8)
        let encryptedKey = """
            <xenc:EncryptedKey xmlns:xenc="http://www.w3.org/2001/04/xmlenc#"><xenc:EncryptionMethod Algorithm="\(keyTransport)"/>\
            <xenc:CipherData><xenc:CipherValue/></xenc:CipherData></xenc:EncryptedKey>
            """
        try """
            <xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#" Type="http://www.w3.org/2001/04/xmlenc#Element">\
            <xenc:EncryptionMethod Algorithm="\(content.rawValue)"/><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">\(encryptedKey)</ds:KeyInfo>\
            <xenc:CipherData><xenc:CipherValue/></xenc:CipherData></xenc:EncryptedData>
            """.write(to: template, atomically: true, encoding: .utf8)
        let output = String(decoding: try SAMLTestIdP.run("/usr/bin/xmlsec1", [
            "--encrypt", "--pubkey-cert-pem", cert.path, "--session-key", content.sessionKey, "--xml-data", data.path, "--node-xpath", "/*", template.path,
        ]), as: UTF8.self)
        var encrypted = String(output[output.range(of: "<xenc:EncryptedData")!.lowerBound...]).trimmingCharacters(in: .whitespacesAndNewlines)
        if keyBesideData, let start = encrypted.range(of: "<ds:KeyInfo"), let end = encrypted.range(of: "</ds:KeyInfo>") {
            let key = String(encrypted[encrypted.range(of: "<xenc:EncryptedKey")!.lowerBound..<encrypted.range(of: "</xenc:EncryptedKey>")!.upperBound])
            encrypted.removeSubrange(start.lowerBound..<end.upperBound)
            encrypted += key.replacingOccurrences(of: "<xenc:EncryptedKey>", with: #"<xenc:EncryptedKey xmlns:xenc="http://www.w3.org/2001/04/xmlenc#">"#)
        }
        return #"<saml:EncryptedAssertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">"# + encrypted + "</saml:EncryptedAssertion>"
    }
}
