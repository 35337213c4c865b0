import Crypto
import Foundation
import RampartSecurity

/// Proof Key for Code Exchange (RFC 7636), S256 only: `plain` gives no protection against a
/// stolen code and is refused.
public enum PKCE {
    /// Whether `text` is a well-formed verifier: 43–128 characters of `[A-Za-z0-9-._~]`.
    public static func isValidVerifier(_ text: String) -> Bool {
        (43...128).contains(text.utf8.count) && text.utf8.allSatisfy(isUnreserved)
    }

    /// Whether `text` is a well-formed S256 challenge: 43 base64url characters (a SHA-256 digest).
    public static func isValidChallenge(_ text: String) -> Bool {
        text.utf8.count == 43 && text.utf8.allSatisfy { isUnreserved($0) && $0 != UInt8(ascii: ".") && $0 != UInt8(ascii: "~") }
    }

    /// The S256 challenge of `verifier`.
    public static func challenge(for verifier: String) -> String {
        Base64URL.encode(SHA256.hash(data: Data(verifier.utf8)))
    }

    /// Whether `verifier` answers `challenge`; compares digests in constant time.
    public static func verify(_ verifier: String, challenge: String) -> Bool {
        isValidVerifier(verifier) && ConstantTime.equal(Self.challenge(for: verifier), challenge)
    }

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            true
        default:
            false
        }
    }
}
