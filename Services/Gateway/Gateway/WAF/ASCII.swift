/// Byte classes and case folding for ASCII, used by every scanner in the WAF.
enum ASCII {
    /// `byte` lowercased if it is an ASCII capital letter.
    @inline(__always) static func lower(_ byte: UInt8) -> UInt8 {
        byte &- 0x41 < 26 ? byte | 0x20 : byte
    }

    /// `text` with its ASCII letters lowercased (header names are ASCII tokens); `text` itself
    /// when it has no uppercase letter, without copying.
    static func lowercased(_ text: String) -> String {
        var text = text
        return text.withUTF8 { bytes in
            guard bytes.contains(where: { $0 &- 0x41 < 26 }) else { return nil }
            return String(unsafeUninitializedCapacity: bytes.count) { output in
                for (offset, byte) in bytes.enumerated() { output[offset] = lower(byte) }
                return bytes.count
            }
        } ?? text
    }

    /// Whether `text` is all ASCII.
    static func isASCII(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { $0.allSatisfy { $0 < 0x80 } }
    }

    /// The first `limit` bytes of `text`'s UTF-8, copied in one piece.
    static func bytes(of text: String, upTo limit: Int) -> [UInt8] {
        var text = text
        return text.withUTF8 { Array(UnsafeBufferPointer(rebasing: $0.prefix(limit))) }
    }

    @inline(__always) static func isLetter(_ byte: UInt8) -> Bool { (byte | 0x20) &- 0x61 < 26 }
    @inline(__always) static func isDigit(_ byte: UInt8) -> Bool { byte &- 0x30 < 10 }
    @inline(__always) static func isAlphanumeric(_ byte: UInt8) -> Bool { isLetter(byte) || isDigit(byte) }
    /// Space, tab, line feed, vertical tab, form feed, carriage return.
    @inline(__always) static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || (byte >= 0x09 && byte <= 0x0D) }

    /// The value of a hexadecimal digit, or nil.
    @inline(__always) static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x41...0x46: byte - 0x41 + 10
        case 0x61...0x66: byte - 0x61 + 10
        default: nil
        }
    }

    /// Whether `bytes` starting at `index` spell `word`, ignoring ASCII case (`word` is lowercase).
    @inline(__always) static func hasPrefix(_ bytes: some RandomAccessCollection<UInt8>, at index: Int, _ word: StaticString) -> Bool {
        let count = word.utf8CodeUnitCount
        guard bytes.count - index >= count else { return false }
        let start = bytes.index(bytes.startIndex, offsetBy: index)
        return word.withUTF8Buffer { buffer in
            var position = start
            for expected in buffer {
                if lower(bytes[position]) != expected { return false }
                position = bytes.index(after: position)
            }
            return true
        }
    }

    /// Whether `needle` occurs in `bytes` (exact bytes).
    static func contains(_ bytes: [UInt8], _ needle: [UInt8]) -> Bool {
        firstIndex(of: needle, in: bytes) != nil
    }

    /// The first offset of `needle` in `bytes`.
    static func firstIndex(of needle: [UInt8], in bytes: [UInt8], from start: Int = 0) -> Int? {
        guard let first = needle.first, needle.count <= bytes.count else { return nil }
        var index = start
        let last = bytes.count - needle.count
        while index <= last {
            if bytes[index] == first {
                var matched = true
                for offset in 1..<needle.count where bytes[index + offset] != needle[offset] {
                    matched = false
                    break
                }
                if matched { return index }
            }
            index += 1
        }
        return nil
    }
}
