import Foundation

/// Request ids at the edge: the client's own when well-formed, otherwise a fresh UUID.
public enum EdgeRequestID {
    /// A new id.
    public static func make() -> String { UUID().uuidString.lowercased() }

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
