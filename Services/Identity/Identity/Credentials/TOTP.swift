import Crypto
import Foundation

/// Time-based one-time passwords (RFC 6238 over RFC 4226): HMAC-SHA-1, 30-second steps, 6 digits,
/// as authenticator apps expect. Verification is ours: a ±1 step window, constant-time
/// comparison, and a step once used never accepted again.
public struct TOTP: Sendable {
    public let secret: Data
    public let digits: Int
    public let period: TimeInterval

    public init(secret: Data, digits: Int = 6, period: TimeInterval = 30) {
        self.secret = secret
        self.digits = digits
        self.period = period
    }

    /// A new 160-bit secret, the size RFC 4226 recommends.
    public static func generateSecret() -> Data {
        SymmetricKey(size: .init(bitCount: 160)).withUnsafeBytes { Data($0) }
    }

    /// The time step containing `date`.
    public func step(at date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 / period).rounded(.down))
    }

    /// The code for time step `step` (RFC 4226 dynamic truncation).
    public func code(step: Int64) -> String {
        var counter = UInt64(bitPattern: step).bigEndian
        let message = withUnsafeBytes(of: &counter) { Data($0) }
        let mac = Array(HMAC<Insecure.SHA1>.authenticationCode(for: message, using: SymmetricKey(data: secret)))
        let offset = Int(mac[mac.count - 1] & 0x0F)
        let binary = (UInt32(mac[offset] & 0x7F) << 24) | (UInt32(mac[offset + 1]) << 16) | (UInt32(mac[offset + 2]) << 8) | UInt32(mac[offset + 3])
        var modulus: UInt32 = 1
        for _ in 0..<digits { modulus *= 10 }
        let value = String(binary % modulus)
        return String(repeating: "0", count: digits - value.count) + value
    }

    /// The step `code` belongs to, within one step of `date` and after `lastUsedStep`; `nil` otherwise.
    /// Every candidate is compared, in constant time, whatever matched first.
    public func verify(_ code: String, at date: Date = .now, lastUsedStep: Int64?) -> Int64? {
        let presented = Array(code.filter { !$0.isWhitespace }.utf8)
        guard presented.count == digits, presented.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else { return nil }
        let current = step(at: date)
        var matched: Int64?
        for candidate in (current - 1)...(current + 1) {
            let expected = Array(self.code(step: candidate).utf8)
            var difference: UInt8 = 0
            for (a, b) in zip(expected, presented) { difference |= a ^ b }
            if difference == 0, candidate > (lastUsedStep ?? .min), matched == nil { matched = candidate }
        }
        return matched
    }

    /// The `otpauth://` URI an authenticator app enrolls from.
    public func provisioningURI(issuer: String, account: String) -> String {
        var components = URLComponents()
        components.scheme = "otpauth"
        components.host = "totp"
        components.path = "/\(issuer):\(account)"
        components.queryItems = [
            URLQueryItem(name: "secret", value: Base32.encode(secret)),
            URLQueryItem(name: "issuer", value: issuer),
            URLQueryItem(name: "algorithm", value: "SHA1"),
            URLQueryItem(name: "digits", value: String(digits)),
            URLQueryItem(name: "period", value: String(Int(period))),
        ]
        return components.string ?? ""
    }
}

/// RFC 4648 base32 without padding, as authenticator apps read secrets.
public enum Base32 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")

    public static func encode(_ data: Data) -> String {
        var output = ""
        var buffer: UInt32 = 0
        var bits = 0
        for byte in data {
            buffer = (buffer << 8) | UInt32(byte)
            bits += 8
            while bits >= 5 {
                output.append(alphabet[Int((buffer >> UInt32(bits - 5)) & 0x1F)])
                bits -= 5
            }
        }
        if bits > 0 { output.append(alphabet[Int((buffer << UInt32(5 - bits)) & 0x1F)]) }
        return output
    }
}
