/// One JSON object written field by field into a string: the access log's line per request.
/// `JSONSerialization` (an `NSDictionary` round trip) costs far more than the rest of a proxied
/// request on Linux; this writes the same JSON directly. Fields appear in the order they are
/// added; strings are escaped per RFC 8259 (`/` is left as is).
struct JSONLine {
    private(set) var text = "{"

    /// Adds `"key":"value"`, or `"key":null` when `value` is nil.
    mutating func add(_ key: String, _ value: String?) {
        separate(key)
        guard let value else {
            text += "null"
            return
        }
        text += "\""
        Self.escape(value, into: &text)
        text += "\""
    }

    /// Adds `"key":number`, or `"key":null` when `value` is nil.
    mutating func add(_ key: String, _ value: Int?) {
        separate(key)
        text += value.map(String.init) ?? "null"
    }

    /// Adds `"key":number` (finite values; others are written as null).
    mutating func add(_ key: String, _ value: Double) {
        separate(key)
        text += value.isFinite ? "\(value)" : "null"
    }

    /// The finished line (without a newline).
    var line: String { text + "}" }

    private mutating func separate(_ key: String) {
        if text.utf8.count > 1 { text += "," }
        text += "\""
        Self.escape(key, into: &text)
        text += "\":"
    }

    /// Appends `value` with `"`, `\` and control characters escaped.
    static func escape(_ value: String, into output: inout String) {
        guard value.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) else {
            output += value
            return
        }
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: output.unicodeScalars.append(scalar)
            }
        }
    }
}
