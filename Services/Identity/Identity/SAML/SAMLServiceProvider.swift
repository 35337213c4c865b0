import CXMLSec
import CryptoExtras
import Foundation
import RampartCore

/// Rampart as a SAML service provider for one tenant host and audience: its entity id, ACS URL,
/// metadata, and the AuthnRequests it sends over the HTTP-Redirect binding.
public struct SAMLServiceProvider: Sendable, Equatable {
    /// The tenant's public host (`acme.eu.example.com[:port]`).
    public let host: String
    public let audience: SSOAudience

    public init(host: String, audience: SSOAudience) {
        self.host = host
        self.audience = audience
    }

    /// Staff use the plain paths; customers' are told apart by a query so both can federate.
    private var audienceQuery: String { audience == .staff ? "" : "?audience=customers" }
    public var entityID: String { "https://\(host)/auth/saml/metadata\(audienceQuery)" }
    public var acsURL: String { "https://\(host)/auth/saml/acs\(audienceQuery)" }

    /// SP metadata: entity id, ACS (HTTP-POST), that assertions must be signed, whether requests
    /// are, and the tenant's own certificates — signing (AuthnRequests) and encryption (RSA-OAEP
    /// with AES-GCM or AES-CBC), each one or two during a rollover, newest first.
    public func metadataXML(signingCertificates: [String] = [], encryptionCertificates: [String] = [], signsRequests: Bool = false) -> String {
        let methods = [SAMLAssertionDecryption.keyTransport] + SAMLAssertionDecryption.dataAlgorithmURIs
        let keys = signingCertificates.map { Self.keyDescriptor(use: "signing", certificate: $0, methods: []) }
            + encryptionCertificates.map { Self.keyDescriptor(use: "encryption", certificate: $0, methods: methods) }
        return """
        <?xml version="1.0" encoding="UTF-8"?>
        <md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="\(HTMLText.escape(entityID))">
          <md:SPSSODescriptor AuthnRequestsSigned="\(signsRequests)" WantAssertionsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
        \(keys.joined())    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified</md:NameIDFormat>
            <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="\(HTMLText.escape(acsURL))" index="0" isDefault="true"/>
          </md:SPSSODescriptor>
        </md:EntityDescriptor>
        """
    }

    private static func keyDescriptor(use: String, certificate: String, methods: [String]) -> String {
        let methodXML = methods.map { "<md:EncryptionMethod Algorithm=\"\($0)\"/>" }.joined()
        return """
                <md:KeyDescriptor use="\(use)"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data>\
            <ds:X509Certificate>\(certificate)</ds:X509Certificate></ds:X509Data></ds:KeyInfo>\(methodXML)</md:KeyDescriptor>

            """
    }

    /// A new request id: `_` and 128 random bits in hex (an XML ID must not start with a digit).
    public static func newRequestID() -> String {
        var generator = SystemRandomNumberGenerator()
        return "_" + Hex.encode((0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }

    /// The `SigAlg` of signed AuthnRequests.
    static let signatureAlgorithm = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"

    /// The IdP URL that carries an AuthnRequest (deflated, base64, URL-encoded) and the relay
    /// state; with `signingKey`, signed as the HTTP-Redirect binding signs (SAML bindings §3.4.4.1):
    /// RSA-SHA256 over `SAMLRequest=…&RelayState=…&SigAlg=…` exactly as those bytes appear in the URL.
    func redirect(to identityProvider: SAMLIdentityProviderSettings, requestID: String, relayState: String,
                  signingKey: _RSA.Signing.PrivateKey? = nil, now: Date = .now) -> String? {
        let instant = ISO8601DateFormatter().string(from: now)
        let request = """
            <samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" \
            ID="\(requestID)" Version="2.0" IssueInstant="\(instant)" Destination="\(HTMLText.escape(identityProvider.ssoURL))" \
            AssertionConsumerServiceURL="\(HTMLText.escape(acsURL))" ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST">\
            <saml:Issuer>\(HTMLText.escape(entityID))</saml:Issuer></samlp:AuthnRequest>
            """
        guard let deflated = Self.deflate(Data(request.utf8)), URL(string: identityProvider.ssoURL) != nil else { return nil }
        var query = "SAMLRequest=\(Self.queryValue(deflated.base64EncodedString()))&RelayState=\(Self.queryValue(relayState))"
        if let signingKey {
            query += "&SigAlg=\(Self.queryValue(Self.signatureAlgorithm))"
            guard let signature = try? signingKey.signature(for: Data(query.utf8), padding: .insecurePKCS1v1_5) else { return nil }
            query += "&Signature=\(Self.queryValue(signature.rawRepresentation.base64EncodedString()))"
        }
        return identityProvider.ssoURL + (identityProvider.ssoURL.contains("?") ? "&" : "?") + query
    }

    private static let unreserved = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")

    /// A query value percent-encoded except RFC 3986's unreserved characters, so the bytes signed
    /// are the bytes sent.
    static func queryValue(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: unreserved) ?? ""
    }

    /// Raw DEFLATE (RFC 1951), as the HTTP-Redirect binding requires.
    static func deflate(_ input: Data) -> Data? {
        var stream = z_stream()
        guard deflateInit2_(&stream, Z_BEST_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK
        else { return nil }
        defer { deflateEnd(&stream) }
        var source = [UInt8](input)
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(source.count))))
        let produced = source.withUnsafeMutableBufferPointer { inBuffer in
            output.withUnsafeMutableBufferPointer { outBuffer -> Int? in
                stream.next_in = inBuffer.baseAddress
                stream.avail_in = uInt(inBuffer.count)
                stream.next_out = outBuffer.baseAddress
                stream.avail_out = uInt(outBuffer.count)
                guard CXMLSec.deflate(&stream, Z_FINISH) == Z_STREAM_END else { return nil }
                return outBuffer.count - Int(stream.avail_out)
            }
        }
        guard let produced else { return nil }
        return Data(output.prefix(produced))
    }
}
