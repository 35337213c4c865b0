/// Percent-decoding of query strings, form bodies and paths, tolerant of invalid escapes.
enum URLDecoding {
    /// One pass: `%XX` and `%uXXXX` decoded, `+` as space when `plusAsSpace`; nil when unchanged.
    static func decode(_ value: [UInt8], plusAsSpace: Bool) -> [UInt8]? {
        decode(value[...], plusAsSpace: plusAsSpace)
    }

    /// One pass over a slice; see `decode(_:plusAsSpace:)`.
    static func decode(_ value: ArraySlice<UInt8>, plusAsSpace: Bool) -> [UInt8]? {
        let needed = value.withUnsafeBufferPointer { buffer in
            buffer.contains { $0 == 0x25 || (plusAsSpace && $0 == 0x2B) }
        }
        guard needed else { return nil }
        let bytes = Array(value)
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == 0x2B, plusAsSpace {
                output.append(0x20)
                index += 1
            } else if byte == 0x25, index + 2 < bytes.count,
                      let high = ASCII.hexValue(bytes[index + 1]), let low = ASCII.hexValue(bytes[index + 2]) {
                output.append(high << 4 | low)
                index += 3
            } else if byte == 0x25, index + 5 < bytes.count, bytes[index + 1] | 0x20 == 0x75, let scalar = hex4(bytes, index + 2) {
                appendUTF8(scalar, to: &output)
                index += 6
            } else {
                output.append(byte)
                index += 1
            }
        }
        return output
    }

    /// Decoded until nothing changes, at most four passes; nil when unchanged.
    static func decodeRepeatedly(_ value: [UInt8]) -> [UInt8]? {
        var current: [UInt8]? = nil
        for _ in 0..<4 {
            guard let next = decode(current ?? value, plusAsSpace: false), next != (current ?? value) else { break }
            current = next
        }
        return current
    }

    /// Whether `value` has a `%` not followed by two hexadecimal digits.
    static func hasInvalidEscape(_ value: String) -> Bool {
        guard value.utf8.contains(0x25) else { return false }
        let bytes = Array(value.utf8)
        var index = 0
        while index < bytes.count {
            if bytes[index] == 0x25 {
                guard index + 2 < bytes.count, ASCII.hexValue(bytes[index + 1]) != nil, ASCII.hexValue(bytes[index + 2]) != nil else {
                    return true
                }
                index += 3
            } else {
                index += 1
            }
        }
        return false
    }

    private static func hex4(_ bytes: [UInt8], _ start: Int) -> UInt32? {
        var value: UInt32 = 0
        for offset in 0..<4 {
            guard let digit = ASCII.hexValue(bytes[start + offset]) else { return nil }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    /// Appends the UTF-8 encoding of `scalar` (invalid scalars become U+FFFD).
    static func appendUTF8(_ scalar: UInt32, to output: inout [UInt8]) {
        guard let scalar = Unicode.Scalar(scalar) else {
            output.append(contentsOf: [0xEF, 0xBF, 0xBD])
            return
        }
        UTF8.encode(scalar) { output.append($0) }
    }
}
