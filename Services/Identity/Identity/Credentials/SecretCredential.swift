import Crypto
import Foundation
import RampartSecurity

/// A high-entropy credential as clients hold it: `<kind>_<id>_<secret>`, e.g. `rk_<id>_<secret>`
/// for an API key. The id (16 characters) finds the record; the secret (256 bits) proves
/// possession and is stored only as a keyed hash, bound to its kind and id.
public struct SecretCredential: Sendable, Equatable {
    /// What the credential is; its raw value is the prefix clients see.
    public enum Kind: String, Sendable, CaseIterable {
        case apiKey = "rk"
        case accessToken = "rat"
        case refreshToken = "rrt"
        case authorizationCode = "rac"
        case clientSecret = "rcs"
        case invitation = "rin"

        /// The domain-separation label of the stored hash.
        var hashLabel: String {
            switch self {
            case .apiKey: "rampart.api-key.v1"
            case .accessToken: "rampart.access-token.v1"
            case .refreshToken: "rampart.refresh-token.v1"
            case .authorizationCode: "rampart.authorization-code.v1"
            case .clientSecret: "rampart.client-secret.v1"
            case .invitation: "rampart.invitation.v1"
            }
        }
    }

    public let kind: Kind
    public let id: String
    public let secret: String

    static let idLength = 16
    static let secretLength = 43

    /// A new random credential of `kind`; with `id`, a new secret for that record (a rotation).
    public static func generate(_ kind: Kind, id: String? = nil) -> SecretCredential {
        SecretCredential(kind: kind, id: id ?? newID(), secret: SymmetricKey(size: .bits256).withUnsafeBytes { Base64URL.encode($0) })
    }

    /// 16 random characters of `[a-z0-9]` (about 82 bits): record ids that are safe in URLs and logs.
    static func newID() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<idLength).map { _ in alphabet[Int(generator.next(upperBound: UInt32(alphabet.count)))] })
    }

    init(kind: Kind, id: String, secret: String) {
        self.kind = kind
        self.id = id
        self.secret = secret
    }

    /// Parses a presented credential of any kind; anything not of the exact shape is `nil`.
    public init?(presented: String) {
        guard let separator = presented.utf8.firstIndex(of: UInt8(ascii: "_")),
              let kind = Kind(rawValue: String(presented[..<separator]))
        else { return nil }
        self.init(presented: presented, kind: kind)
    }

    /// Parses a presented credential that must be of `kind`.
    public init?(presented: String, kind: Kind) {
        let prefix = kind.rawValue + "_"
        guard presented.utf8.count == prefix.utf8.count + Self.idLength + 1 + Self.secretLength, presented.hasPrefix(prefix) else { return nil }
        let body = presented.utf8.dropFirst(prefix.utf8.count)
        let id = body.prefix(Self.idLength)
        guard body.dropFirst(Self.idLength).first == UInt8(ascii: "_") else { return nil }
        let secret = body.dropFirst(Self.idLength + 1)
        guard id.allSatisfy(Self.isIDByte), secret.allSatisfy(Self.isSecretByte) else { return nil }
        self.init(kind: kind, id: String(decoding: id, as: UTF8.self), secret: String(decoding: secret, as: UTF8.self))
    }

    /// Whether `text` has the shape of a record id.
    static func isID(_ text: String) -> Bool {
        text.utf8.count == idLength && text.utf8.allSatisfy(isIDByte)
    }

    private static func isIDByte(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    private static func isSecretByte(_ byte: UInt8) -> Bool {
        isIDByte(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
    }

    /// The whole credential, shown once at creation.
    public var presented: String { "\(kind.rawValue)_\(id)_\(secret)" }

    /// The keyed hash stored for the secret (HMAC-SHA-256, bound to the kind and id).
    public func secretHash(using key: SymmetricKey) -> Data {
        Data(HMAC<SHA256>.authenticationCode(for: hashInput, using: key))
    }

    /// Whether `stored` is this secret's hash; constant time.
    public func matches(_ stored: Data, using key: SymmetricKey) -> Bool {
        HMAC<SHA256>.isValidAuthenticationCode(stored, authenticating: hashInput, using: key)
    }

    private var hashInput: Data { Data("\(kind.hashLabel)\u{0}\(id)\u{0}\(secret)".utf8) }
}
