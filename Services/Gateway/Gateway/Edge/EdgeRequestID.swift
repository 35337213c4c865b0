import Foundation

/// Request ids at the edge: the client's own when well-formed, otherwise a fresh UUID.
public enum EdgeRequestID {
    /// A new id: a random (version 4) UUID in lowercase, from the system's generator
    /// (`getrandom`; Foundation's `UUID()` opens and reads `/dev/urandom` for each one).
    public static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        let versioned = (generator.next() as UInt64) & 0xFFFF_FFFF_FFFF_0FFF | 0x0000_0000_0000_4000
        let variant = (generator.next() as UInt64) & 0x3FFF_FFFF_FFFF_FFFF | 0x8000_0000_0000_0000
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
