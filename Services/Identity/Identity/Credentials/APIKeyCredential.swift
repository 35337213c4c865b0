import Crypto
import Foundation
import RampartSecurity

/// An API key as clients hold it: `rk_<id>_<secret>`. The id (16 characters) finds the key; the
/// secret (256 bits) proves possession and is stored only as a keyed hash.
public struct APIKeyCredential: Sendable, Equatable {
    public static let prefix = "rk_"
    public let id: String
    public let secret: String

    /// A new random key.
    public static func generate() -> APIKeyCredential {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        var generator = SystemRandomNumberGenerator()
        let id = String((0..<16).map { _ in alphabet[Int(generator.next(upperBound: UInt32(alphabet.count)))] })
        let secret = SymmetricKey(size: .bits256).withUnsafeBytes { Base64URL.encode($0) }
        return APIKeyCredential(id: id, secret: secret)
    }

    init(id: String, secret: String) {
        self.id = id
        self.secret = secret
    }

    /// Parses a presented key; anything not of the exact shape is `nil`.
    public init?(presented: String) {
        guard presented.utf8.count == 3 + 16 + 1 + 43, presented.hasPrefix(Self.prefix) else { return nil }
        let body = presented.dropFirst(3)
        let id = String(body.prefix(16))
        guard body.dropFirst(16).first == "_" else { return nil }
        let secret = String(body.dropFirst(17))
        guard id.utf8.allSatisfy({ (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
              secret.utf8.allSatisfy({ (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") })
        else { return nil }
        self.init(id: id, secret: secret)
    }

    /// The whole key, shown once at creation.
    public var presented: String { "\(Self.prefix)\(id)_\(secret)" }

    /// The keyed hash stored for the secret (HMAC-SHA-256, bound to the key id).
    public func secretHash(using key: SymmetricKey) -> Data {
        Data(HMAC<SHA256>.authenticationCode(for: Data("rampart.api-key.v1\u{0}\(id)\u{0}\(secret)".utf8), using: key))
    }

    /// Whether `stored` is this secret's hash; constant time.
    public func matches(_ stored: Data, using key: SymmetricKey) -> Bool {
        HMAC<SHA256>.isValidAuthenticationCode(stored, authenticating: Data("rampart.api-key.v1\u{0}\(id)\u{0}\(secret)".utf8), using: key)
    }
}
