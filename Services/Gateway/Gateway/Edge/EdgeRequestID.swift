import Foundation
import Synchronization

/// Request ids at the edge: the client's own when well-formed, otherwise a fresh UUID.
public enum EdgeRequestID {
    /// A new id: a random (version 4) UUID in lowercase, from the kernel's generator
    /// (``RandomBytes``: Foundation's `UUID()` opens and reads `/dev/urandom` for each one).
    public static func make() -> String {
        let (high, low) = RandomBytes.shared.next()
        let versioned = high & 0xFFFF_FFFF_FFFF_0FFF | 0x0000_0000_0000_4000
        let variant = low & 0x3FFF_FFFF_FFFF_FFFF | 0x8000_0000_0000_0000
        var bytes: [UInt8] = []
        bytes.reserveCapacity(36)
        for index in 0..<32 {
            if index == 8 || index == 12 || index == 16 || index == 20 { bytes.append(UInt8(ascii: "-")) }
            let word = index < 16 ? versioned : variant
            bytes.append(hexDigits[Int(truncatingIfNeeded: word >> UInt64(60 - 4 * (index % 16))) & 0xF])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// `value` if it is 8–64 of `A-Z a-z 0-9 - _`, else a new id.
    public static func accept(_ value: String?) -> String {
        guard let value, (8...64).contains(value.utf8.count),
              value.utf8.allSatisfy({ byte in
                  (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                      || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
              })
        else { return make() }
        return value
    }
}

/// Random 128-bit values from the kernel (`getentropy`), drawn 256 bytes at a time: one system
/// call per 16 request ids instead of two per id (`SystemRandomNumberGenerator` asks the kernel
/// for each 64-bit value).
final class RandomBytes: Sendable {
    static let shared = RandomBytes()

    private struct Pool {
        var bytes = [UInt8](repeating: 0, count: 256)
        var used = 256
    }

    private let pool = Mutex(Pool())

    func next() -> (UInt64, UInt64) {
        pool.withLock { pool in
            if pool.used == pool.bytes.count {
                let filled = pool.bytes.withUnsafeMutableBytes { getentropy($0.baseAddress, $0.count) }
                if filled != 0 {
                    // Not expected on Linux 3.17 and later; the standard generator then draws each value itself.
                    var generator = SystemRandomNumberGenerator()
                    return (generator.next(), generator.next())
                }
                pool.used = 0
            }
            let values = pool.bytes.withUnsafeBytes { raw in
                (raw.loadUnaligned(fromByteOffset: pool.used, as: UInt64.self), raw.loadUnaligned(fromByteOffset: pool.used + 8, as: UInt64.self))
            }
            pool.used += 16
            return values
        }
    }
}
