import Foundation
import RampartSecurity

/// A compact JWS (`header.payload.signature`) split and decoded strictly, before any signature is
/// checked: at most `maximumBytes`, three base64url parts, JSON objects for header and payload,
/// and no header field outside `allowedHeaders` — a key or key location (`jku`, `x5u`, `jwk`,
/// `x5c`) or `crit` in the header is refused, because the key always comes from configuration.
/// Shared by JWT SSO and OpenID Connect ID tokens.
struct CompactJWS {
    enum Failure: Error, Equatable {
        case malformed
        case forbiddenHeader
    }

    static let allowedHeaders: Set<String> = ["alg", "typ", "kid"]

    let header: [String: Any]
    let payload: [String: Any]
    /// The bytes the signature covers (`header.payload` as sent).
    let signingInput: Data
    let signature: Data

    var algorithm: String? { header["alg"] as? String }
    var keyID: String? { header["kid"] as? String }

    init(_ token: String, maximumBytes: Int) throws(Failure) {
        guard token.utf8.count <= maximumBytes else { throw .malformed }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerData = Base64URL.decode(parts[0]), let payloadData = Base64URL.decode(parts[1]),
              let signature = Base64URL.decode(parts[2]),
              let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any],
              let payload = try? JSONSerialization.jsonObject(with: payloadData) as? [String: Any]
        else { throw .malformed }
        guard Set(header.keys).isSubset(of: Self.allowedHeaders) else { throw .forbiddenHeader }
        self.header = header
        self.payload = payload
        self.signingInput = Data(token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
        self.signature = signature
    }

    /// `aud` as a list, whether the token sent a string or an array.
    var audiences: [String] { (payload["aud"] as? String).map { [$0] } ?? (payload["aud"] as? [String]) ?? [] }

    /// A numeric date claim (`exp`, `iat`, `nbf`).
    func date(_ claim: String) -> Double? { (payload[claim] as? NSNumber)?.doubleValue }

    /// Whether `amr` names a multi-factor method (`mfa`, `otp` or `hwk`, RFC 8176).
    var assertsMultiFactor: Bool {
        let methods = (payload["amr"] as? [String]) ?? []
        return methods.contains("mfa") || methods.contains("otp") || methods.contains("hwk")
    }
}
