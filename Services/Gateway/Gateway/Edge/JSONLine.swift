/// One JSON object written field by field into bytes: the access log's line per request.
/// `JSONSerialization` (an `NSDictionary` round trip) costs far more than the rest of a proxied
/// request on Linux; this writes the same JSON directly. Fields appear in the order they are
/// added; strings are escaped per RFC 8259 (`/` is left as is).
struct JSONLine {
    private var bytes: [UInt8] = [UInt8(ascii: "{")]

    init() {
        bytes.reserveCapacity(512)
    }

    /// Adds `"key":"value"`, or `"key":null` when `value` is nil.
    mutating func add(_ key: String, _ value: String?) {
        separate(key)
        guard let value else {
            bytes.append(contentsOf: "null".utf8)
            return
        }
        bytes.append(UInt8(ascii: "\""))
        Self.escape(value, into: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    /// Adds `"key":number`, or `"key":null` when `value` is nil.
    mutating func add(_ key: String, _ value: Int?) {
        separate(key)
        bytes.append(contentsOf: (value.map(String.init) ?? "null").utf8)
    }

    /// Adds `"key":number` (finite values; others are written as null).
    mutating func add(_ key: String, _ value: Double) {
        separate(key)
        bytes.append(contentsOf: (value.isFinite ? "\(value)" : "null").utf8)
    }

    /// The finished line (without a newline).
    var line: String { String(decoding: bytes + [UInt8(ascii: "}")], as: UTF8.self) }

    private mutating func separate(_ key: String) {
        if bytes.count > 1 { bytes.append(UInt8(ascii: ",")) }
        bytes.append(UInt8(ascii: "\""))
        Self.escape(key, into: &bytes)
        bytes.append(contentsOf: "\":".utf8)
    }

    /// Appends `value`'s UTF-8 with `"`, `\` and control characters escaped (every byte of a
    /// multi-byte character is 0x80 or above, so it passes through whole).
    static func escape(_ value: String, into output: inout [UInt8]) {
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                output.append(UInt8(ascii: "\\"))
                output.append(byte)
            case UInt8(ascii: "\n"):
                output.append(UInt8(ascii: "\\"))
                output.append(UInt8(ascii: "n"))
            case UInt8(ascii: "\r"):
                output.append(UInt8(ascii: "\\"))
                output.append(UInt8(ascii: "r"))
            case UInt8(ascii: "\t"):
                output.append(UInt8(ascii: "\\"))
                output.append(UInt8(ascii: "t"))
            case ..<0x20:
                output.append(contentsOf: "\\u00".utf8)
                output.append(hexDigits[Int(byte >> 4)])
                output.append(hexDigits[Int(byte & 0xF)])
            default:
                output.append(byte)
            }
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
}
