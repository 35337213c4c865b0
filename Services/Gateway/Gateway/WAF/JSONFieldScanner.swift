/// Walks a JSON document (however deeply nested) and reports every member name and every string
/// value with its dotted path (`message.attachments.name`; array positions are not part of it).
/// Escapes are decoded (`\u003c` becomes `<`). Numbers, booleans and null are skipped.
struct JSONFieldScanner {
    /// Deeper documents are refused (and reported as malformed).
    static let maximumDepth = 64

    private let input: ArraySlice<UInt8>
    private var index: Int
    private var path: [String] = []

    /// Scans `input`, calling `visit(path, value, isName)` for each name and string value.
    /// Returns false when the document is malformed or cut off.
    static func scan(_ input: ArraySlice<UInt8>, visit: (String, [UInt8], Bool) -> Void) -> Bool {
        var scanner = JSONFieldScanner(input: input, index: input.startIndex)
        scanner.skipSpace()
        guard scanner.value(depth: 0, visit: visit) else { return false }
        scanner.skipSpace()
        return scanner.index == input.endIndex
    }

    private mutating func value(depth: Int, visit: (String, [UInt8], Bool) -> Void) -> Bool {
        guard depth < Self.maximumDepth, index < input.endIndex else { return false }
        switch input[index] {
        case 0x7B:
            index += 1
            skipSpace()
            if peek == 0x7D { index += 1; return true }
            while true {
                guard peek == 0x22, let name = string() else { return false }
                let key = String(decoding: name, as: UTF8.self)
                path.append(key)
                visit(joinedPath, name, true)
                skipSpace()
                guard peek == 0x3A else { return false }
                index += 1
                skipSpace()
                guard value(depth: depth + 1, visit: visit) else { return false }
                path.removeLast()
                skipSpace()
                if peek == 0x2C { index += 1; skipSpace(); continue }
                if peek == 0x7D { index += 1; return true }
                return false
            }
        case 0x5B:
            index += 1
            skipSpace()
            if peek == 0x5D { index += 1; return true }
            while true {
                guard value(depth: depth + 1, visit: visit) else { return false }
                skipSpace()
                if peek == 0x2C { index += 1; skipSpace(); continue }
                if peek == 0x5D { index += 1; return true }
                return false
            }
        case 0x22:
            guard let text = string() else { return false }
            visit(joinedPath, text, false)
            return true
        default:
            let start = index
            while index < input.endIndex, !Self.isDelimiter(input[index]) { index += 1 }
            return index > start
        }
    }

    private var joinedPath: String { path.count == 1 ? path[0] : path.joined(separator: ".") }

    private var peek: UInt8? { index < input.endIndex ? input[index] : nil }

    private mutating func skipSpace() {
        while index < input.endIndex, ASCII.isSpace(input[index]) { index += 1 }
    }

    @inline(__always) private static func isDelimiter(_ byte: UInt8) -> Bool {
        ASCII.isSpace(byte) || byte == 0x2C || byte == 0x7D || byte == 0x5D || byte == 0x3A
    }

    /// The decoded string starting at the opening quote at `index`.
    private mutating func string() -> [UInt8]? {
        index += 1
        let start = index
        while index < input.endIndex, input[index] != 0x22, input[index] != 0x5C { index += 1 }
        guard index < input.endIndex else { return nil }
        if input[index] == 0x22 {
            defer { index += 1 }
            return Array(input[start..<index])
        }
        var output = Array(input[start..<index])
        while index < input.endIndex {
            let byte = input[index]
            if byte == 0x22 {
                index += 1
                return output
            }
            guard byte == 0x5C else {
                output.append(byte)
                index += 1
                continue
            }
            guard index + 1 < input.endIndex else { return nil }
            let escaped = input[index + 1]
            index += 2
            switch escaped {
            case 0x6E: output.append(0x0A)
            case 0x74: output.append(0x09)
            case 0x72: output.append(0x0D)
            case 0x62: output.append(0x08)
            case 0x66: output.append(0x0C)
            case 0x75:
                guard let unit = hex4() else { return nil }
                var scalar = UInt32(unit)
                if unit & 0xFC00 == 0xD800, index + 5 < input.endIndex, input[index] == 0x5C, input[index + 1] == 0x75 {
                    index += 2
                    guard let low = hex4() else { return nil }
                    scalar = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) & 0x3FF)
                }
                URLDecoding.appendUTF8(scalar, to: &output)
            default: output.append(escaped)
            }
        }
        return nil
    }

    private mutating func hex4() -> UInt16? {
        guard index + 4 <= input.endIndex else { return nil }
        var value: UInt16 = 0
        for _ in 0..<4 {
            guard let digit = ASCII.hexValue(input[index]) else { return nil }
            value = value << 4 | UInt16(digit)
            index += 1
        }
        return value
    }
}
