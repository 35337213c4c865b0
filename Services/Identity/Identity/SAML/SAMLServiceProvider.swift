import CXMLSec
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

    /// SP metadata: entity id, ACS (HTTP-POST), and that assertions must be signed.
    public func metadataXML() -> String {
        """
        <?xml version="1.0" encoding="UTF-8"?>
        <md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="\(HTMLText.escape(entityID))">
          <md:SPSSODescriptor AuthnRequestsSigned="false" WantAssertionsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
            <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified</md:NameIDFormat>
            <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="\(HTMLText.escape(acsURL))" index="0" isDefault="true"/>
          </md:SPSSODescriptor>
        </md:EntityDescriptor>
        """
    }

    /// A new request id: `_` and 128 random bits in hex (an XML ID must not start with a digit).
    public static func newRequestID() -> String {
        var generator = SystemRandomNumberGenerator()
        return "_" + (0..<16).map { _ in String(format: "%02x", UInt8.random(in: .min ... .max, using: &generator)) }.joined()
    }

    /// The IdP URL that carries an AuthnRequest (deflated, base64, URL-encoded) and the relay state.
    public func redirect(to identityProvider: SAMLIdentityProviderSettings, requestID: String, relayState: String, now: Date = .now) -> String? {
        let instant = ISO8601DateFormatter().string(from: now)
        let request = """
            <samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" \
            ID="\(requestID)" Version="2.0" IssueInstant="\(instant)" Destination="\(HTMLText.escape(identityProvider.ssoURL))" \
            AssertionConsumerServiceURL="\(HTMLText.escape(acsURL))" ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST">\
            <saml:Issuer>\(HTMLText.escape(entityID))</saml:Issuer></samlp:AuthnRequest>
            """
        guard let deflated = Self.deflate(Data(request.utf8)), var components = URLComponents(string: identityProvider.ssoURL) else { return nil }
        components.queryItems = (components.queryItems ?? []) + [
            URLQueryItem(name: "SAMLRequest", value: deflated.base64EncodedString()),
            URLQueryItem(name: "RelayState", value: relayState),
        ]
        // URLComponents leaves `+` and `/` of base64 as they are; a query value needs them encoded.
        components.percentEncodedQuery = components.percentEncodedQuery?
            .replacingOccurrences(of: "+", with: "%2B").replacingOccurrences(of: "/", with: "%2F")
        return components.string
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
