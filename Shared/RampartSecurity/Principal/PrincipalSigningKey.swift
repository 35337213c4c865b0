import Crypto
import Foundation

/// An Ed25519 private key with its key id: identity's for principal tokens, audit's for
/// checkpoints, backup's for deletion certificates (each its own key).
public struct PrincipalSigningKey: Sendable {
    public let keyID: String
    let key: Curve25519.Signing.PrivateKey

    public init(keyID: String, key: Curve25519.Signing.PrivateKey) {
        self.keyID = keyID
        self.key = key
    }

    /// A fresh key with a random id.
    public static func generate() -> PrincipalSigningKey {
        let id = Base64URL.encode(SymmetricKey(size: .bits128).withUnsafeBytes { Array($0) })
        return PrincipalSigningKey(keyID: id, key: Curve25519.Signing.PrivateKey())
    }

    /// An Ed25519 signature over `message`. Each use signs messages starting with its own domain
    /// tag, so a signature made for one purpose never verifies for another.
    public func signature(for message: Data) throws -> Data {
        try key.signature(for: message)
    }

    /// The public half, as a one-key set.
    public var publicKeySet: PrincipalKeySet {
        PrincipalKeySet(keys: [keyID: key.publicKey])
    }

    private struct File: Codable {
        var kid: String
        var d: String
    }

    /// Reads the JSON key file (`{"kid": …, "d": base64url(raw private key)}`).
    public init(fileContents data: Data) throws {
        guard let file = try? JSONDecoder().decode(File.self, from: data),
              !file.kid.isEmpty, let raw = Base64URL.decode(file.d),
              let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: raw)
        else { throw PrincipalKeyError.malformedSigningKey }
        self.init(keyID: file.kid, key: key)
    }

    /// The JSON key file; a secret, written with mode 0600.
    public func fileContents() throws -> Data {
        try JSONEncoder().encode(File(kid: keyID, d: Base64URL.encode(key.rawRepresentation)))
    }
}
