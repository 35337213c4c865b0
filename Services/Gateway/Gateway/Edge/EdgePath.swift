/// The request target's path, checked before routing: route prefixes cannot be sidestepped with
/// dot segments, doubled or encoded separators, backslashes, control bytes or broken escapes.
enum EdgePath {
    /// The path part of `target` (`/a/b?x=1` → `/a/b`) if it is canonical, else `nil`. One pass
    /// over the bytes: this runs for every request.
    static func canonicalPath(of target: String) -> String? {
        let length = target.utf8.withContiguousStorageIfAvailable(checkedPathLength)
            ?? Array(target.utf8).withUnsafeBufferPointer(checkedPathLength)
        guard let length else { return nil }
        return String(Substring(target.utf8.prefix(length)))
    }

    /// The length of the path in `bytes` (up to `?`), or `nil` when the target is not canonical:
    /// no control, space, non-ASCII, `\` or `#` bytes; every `%` followed by two hex digits; in
    /// the path, no encoded dot, separator, NUL or percent sign, no empty, `.` or `..` segment.
    private static func checkedPathLength(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        let end = bytes.firstIndex(of: UInt8(ascii: "?")) ?? bytes.count
        guard end > 0, bytes[0] == UInt8(ascii: "/"), end <= 4096 else { return nil }
        var segmentStart = 1
        for index in bytes.indices {
            let byte = bytes[index]
            guard byte > 0x20, byte < 0x7F, byte != UInt8(ascii: "\\"), byte != UInt8(ascii: "#") else { return nil }
            if byte == UInt8(ascii: "%") {
                guard index + 2 < bytes.count, isHex(bytes[index + 1]), isHex(bytes[index + 2]) else { return nil }
                if index < end {
                    switch (bytes[index + 1], bytes[index + 2] | 0x20) {
                    case (UInt8(ascii: "2"), UInt8(ascii: "e")), (UInt8(ascii: "2"), UInt8(ascii: "f")), (UInt8(ascii: "5"), UInt8(ascii: "c")),
                         (UInt8(ascii: "0"), UInt8(ascii: "0")), (UInt8(ascii: "2"), UInt8(ascii: "5")):
                        return nil
                    default:
                        break
                    }
                }
            }
            if index < end, index > 0, byte == UInt8(ascii: "/") {
                guard isPlainSegment(bytes[segmentStart..<index], last: false) else { return nil }
                segmentStart = index + 1
            }
        }
        return isPlainSegment(bytes[segmentStart..<end], last: true) ? end : nil
    }

    /// Not `.` or `..`, and not empty unless it is the last (a trailing slash).
    private static func isPlainSegment(_ segment: Slice<UnsafeBufferPointer<UInt8>>, last: Bool) -> Bool {
        if segment.isEmpty { return last }
        return !segment.allSatisfy { $0 == UInt8(ascii: ".") } || segment.count > 2
    }

    private static func isHex(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
            || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte)
    }
}
