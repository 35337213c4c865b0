import Crypto
import Foundation

/// The Ed25519 public keys that verify principal tokens, by key id. No default key exists:
/// a token whose `kid` is not here is refused.
public struct PrincipalKeySet: Sendable {
    private let keys: [String: Curve25519.Signing.PublicKey]

    public init(keys: [String: Curve25519.Signing.PublicKey]) {
        self.keys = keys
    }

    /// The key with id `kid`, or `nil`; never a fallback.
    public func key(id kid: String) -> Curve25519.Signing.PublicKey? { keys[kid] }

    /// The key ids in the set.
    public var keyIDs: [String] { keys.keys.sorted() }

    /// Reads a JWKS document holding `OKP`/`Ed25519` keys; any other key type is an error.
    public init(jwks data: Data) throws {
        let document = try JSONDecoder().decode(JSONWebKeySet.self, from: data)
        var keys: [String: Curve25519.Signing.PublicKey] = [:]
        for jwk in document.keys {
            guard jwk.kty == "OKP", jwk.crv == "Ed25519", let kid = jwk.kid, !kid.isEmpty,
                  jwk.alg == nil || jwk.alg == "EdDSA",
                  let x = Base64URL.decode(jwk.x)
            else { throw PrincipalKeyError.unsupportedKey }
            keys[kid] = try Curve25519.Signing.PublicKey(rawRepresentation: x)
        }
        guard !keys.isEmpty else { throw PrincipalKeyError.emptyKeySet }
        self.keys = keys
    }

    /// The set as a JWKS document.
    public func jwks() throws -> Data {
        let document = JSONWebKeySet(keys: keys.sorted(by: { $0.key < $1.key }).map { kid, key in
            JSONWebKeySet.Key(kty: "OKP", crv: "Ed25519", kid: kid, x: Base64URL.encode(key.rawRepresentation), alg: "EdDSA", use: "sig")
        })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(document)
    }
}

/// Why a key file was refused.
public enum PrincipalKeyError: Error, Sendable {
    case unsupportedKey
    case emptyKeySet
    case malformedSigningKey
}

struct JSONWebKeySet: Codable {
    struct Key: Codable {
        var kty: String
        var crv: String?
        var kid: String?
        var x: String
        var alg: String?
        var use: String?
    }

    var keys: [Key]
}
