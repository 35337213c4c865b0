import Crypto
import CryptoExtras
import Foundation
import RampartSecurity

/// The ID-token signature algorithms Rampart accepts: RSA (PKCS#1 v1.5 and PSS) and ECDSA on
/// P-256/P-384. `none` and every HMAC algorithm are absent, so a token "signed" with nothing or
/// with the provider's public key as an HMAC secret is refused before any key is looked at.
enum OIDCAlgorithm: String, CaseIterable, Sendable {
    case rs256 = "RS256", rs384 = "RS384", rs512 = "RS512"
    case ps256 = "PS256", ps384 = "PS384", ps512 = "PS512"
    case es256 = "ES256", es384 = "ES384"
}

/// One key of the provider's JWKS that can verify signatures: RSA of at least 2048 bits, or EC on
/// P-256 or P-384. Keys for encryption (`use: enc`), symmetric (`oct`) and other keys are skipped.
struct OIDCSigningKey: Sendable {
    enum Material: Sendable {
        case rsa(_RSA.Signing.PublicKey)
        case p256(P256.Signing.PublicKey)
        case p384(P384.Signing.PublicKey)
    }

    let keyID: String?
    /// The JWK's `alg`, when it names one: the key is then used with that algorithm only.
    let algorithm: String?
    let material: Material

    /// The usable signing key a JWK describes, or `nil`.
    init?(jwk: [String: Any]) {
        if let use = jwk["use"] as? String, use != "sig" { return nil }
        func bytes(_ name: String) -> Data? { (jwk[name] as? String).flatMap { Base64URL.decode($0) } }
        switch (jwk["kty"] as? String, jwk["crv"] as? String) {
        case ("RSA", _):
            guard let n = bytes("n"), let e = bytes("e"), let key = try? _RSA.Signing.PublicKey(n: n, e: e), key.keySizeInBits >= 2048 else { return nil }
            material = .rsa(key)
        case ("EC", "P-256"):
            guard let x = bytes("x"), let y = bytes("y"), x.count == 32, y.count == 32,
                  let key = try? P256.Signing.PublicKey(rawRepresentation: x + y) else { return nil }
            material = .p256(key)
        case ("EC", "P-384"):
            guard let x = bytes("x"), let y = bytes("y"), x.count == 48, y.count == 48,
                  let key = try? P384.Signing.PublicKey(rawRepresentation: x + y) else { return nil }
            material = .p384(key)
        default:
            return nil
        }
        keyID = jwk["kid"] as? String
        algorithm = jwk["alg"] as? String
    }

    /// Whether this key may verify a token signed with `algorithm` (and, when the token names one, has its `kid`).
    func fits(_ algorithm: OIDCAlgorithm, keyID wanted: String?) -> Bool {
        if let wanted, wanted != keyID { return false }
        if let own = self.algorithm, own != algorithm.rawValue { return false }
        switch (material, algorithm) {
        case (.rsa, .rs256), (.rsa, .rs384), (.rsa, .rs512), (.rsa, .ps256), (.rsa, .ps384), (.rsa, .ps512), (.p256, .es256), (.p384, .es384): return true
        default: return false
        }
    }

    func isValid(_ signature: Data, for input: Data, algorithm: OIDCAlgorithm) -> Bool {
        switch (material, algorithm) {
        case (.rsa(let key), .rs256): key.isValidSignature(.init(rawRepresentation: signature), for: SHA256.hash(data: input), padding: .insecurePKCS1v1_5)
        case (.rsa(let key), .rs384): key.isValidSignature(.init(rawRepresentation: signature), for: SHA384.hash(data: input), padding: .insecurePKCS1v1_5)
        case (.rsa(let key), .rs512): key.isValidSignature(.init(rawRepresentation: signature), for: SHA512.hash(data: input), padding: .insecurePKCS1v1_5)
        case (.rsa(let key), .ps256): key.isValidSignature(.init(rawRepresentation: signature), for: SHA256.hash(data: input), padding: .PSS)
        case (.rsa(let key), .ps384): key.isValidSignature(.init(rawRepresentation: signature), for: SHA384.hash(data: input), padding: .PSS)
        case (.rsa(let key), .ps512): key.isValidSignature(.init(rawRepresentation: signature), for: SHA512.hash(data: input), padding: .PSS)
        case (.p256(let key), .es256): (try? P256.Signing.ECDSASignature(rawRepresentation: signature)).map { key.isValidSignature($0, for: input) } ?? false
        case (.p384(let key), .es384): (try? P384.Signing.ECDSASignature(rawRepresentation: signature)).map { key.isValidSignature($0, for: input) } ?? false
        default: false
        }
    }
}
