import Glibc

/// One JSON object written field by field into bytes: the access log's line per request.
/// `JSONSerialization` (an `NSDictionary` round trip) costs far more than the rest of a proxied
/// request on Linux; this writes the same JSON directly. Fields appear in the order they are
/// added; keys are literals written as they are, string values are escaped per RFC 8259 (`/` is
/// left as is).
struct JSONLine {
    private var bytes: [UInt8] = [UInt8(ascii: "{")]

    init() {
        bytes.reserveCapacity(512)
    }

    /// Adds `"key":"value"`, or `"key":null` when `value` is nil.
    mutating func add(_ key: StaticString, _ value: String?) {
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
    mutating func add(_ key: StaticString, _ value: Int?) {
        separate(key)
        guard let value else {
            bytes.append(contentsOf: "null".utf8)
            return
        }
        bytes.append(contentsOf: String(value).utf8)
    }

    /// Adds `"key":number` with three decimals, from thousandths (`1234` is `1.234`).
    mutating func add(_ key: StaticString, thousandths value: Int) {
        separate(key)
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        let magnitude = value.magnitude
        bytes.append(contentsOf: String(magnitude / 1000).utf8)
        bytes.append(UInt8(ascii: "."))
        appendThreeDigits(Int(magnitude % 1000))
    }

    /// Adds `"key":"2026-11-29T08:46:42.511Z"`: the current time in UTC, in milliseconds.
    mutating func addTimestamp(_ key: StaticString) {
        separate(key)
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: Self.secondPrefix.text(at: now.tv_sec).utf8)
        appendThreeDigits(Int(now.tv_nsec / 1_000_000))
        bytes.append(contentsOf: "Z\"".utf8)
    }

    /// `value` (0–999) with leading zeros.
    private mutating func appendThreeDigits(_ value: Int) {
        bytes.append(UInt8(ascii: "0") + UInt8(value / 100))
        bytes.append(UInt8(ascii: "0") + UInt8(value / 10 % 10))
        bytes.append(UInt8(ascii: "0") + UInt8(value % 10))
    }

    /// The finished line (without a newline).
    mutating func finish() -> String {
        bytes.append(UInt8(ascii: "}"))
        return String(decoding: bytes, as: UTF8.self)
    }

    private mutating func separate(_ key: StaticString) {
        if bytes.count > 1 { bytes.append(UInt8(ascii: ",")) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount))
        bytes.append(contentsOf: "\":".utf8)
    }

    /// Appends `value`'s UTF-8 with `"`, `\` and control characters escaped (every byte of a
    /// multi-byte character is 0x80 or above, so it passes through whole); a value with nothing
    /// to escape, as nearly every one is, is copied in one piece.
    static func escape(_ value: String, into output: inout [UInt8]) {
        let needsNoEscape = value.utf8.withContiguousStorageIfAvailable { stored in
            guard !stored.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) else { return false }
            output.append(contentsOf: stored)
            return true
        }
        if needsNoEscape == true { return }
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

    /// `2026-11-29T08:46:42.`: the timestamp up to its milliseconds.
    private static let secondPrefix = UTCSecondFormat("%Y-%m-%dT%H:%M:%S.")
}
