import Crypto
import CryptoExtras
import Foundation
import RampartSecurity

/// `private_key_jwt` client authentication (OpenID Connect Core §9, RFC 7523): a short-lived JWT
/// signed with the tenant's own key instead of a shared secret, and the JWKS that publishes the
/// public half at `/auth/oidc/jwks` for the provider to fetch.
enum OIDCClientAssertion {
    static let type = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    /// How long an assertion may be used: long enough for one token request.
    static let lifetime: TimeInterval = 60

    /// `iss` and `sub` the client id, `aud` the token endpoint, a unique `jti`, one minute of life;
    /// RS256 with `key`, named by its id (`kid`).
    static func make(clientID: String, tokenEndpoint: String, key: SSOKey, now: Date = .now) throws -> String {
        let header: [String: Any] = ["alg": "RS256", "typ": "JWT", "kid": keyID(key)]
        let issued = Int(now.timeIntervalSince1970)
        let claims: [String: Any] = ["iss": clientID, "sub": clientID, "aud": tokenEndpoint, "jti": SessionRepository.newToken(),
                                     "iat": issued, "exp": issued + Int(lifetime)]
        let encode = { (object: [String: Any]) in Base64URL.encode(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) }
        let input = try encode(header) + "." + encode(claims)
        let signature = try key.privateKey.signature(for: SHA256.hash(data: Data(input.utf8)), padding: .insecurePKCS1v1_5)
        return input + "." + Base64URL.encode(signature.rawRepresentation)
    }

    /// The public keys as a JWKS (RFC 7517): RSA, `use: sig`, `alg: RS256`, the key id, and the certificate.
    static func jwks(_ keys: [SSOKey]) throws -> [String: [[String: Any]]] {
        ["keys": try keys.map { key in
            let primitives = try key.privateKey.publicKey.getKeyPrimitives()
            return ["kty": "RSA", "use": "sig", "alg": "RS256", "kid": keyID(key), "n": Base64URL.encode(primitives.modulus),
                    "e": Base64URL.encode(primitives.publicExponent), "x5c": [key.certificate]]
        }]
    }

    static func keyID(_ key: SSOKey) -> String { key.id.uuidString.lowercased() }
}
