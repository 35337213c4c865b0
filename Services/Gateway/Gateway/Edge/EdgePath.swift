/// The request target's path, checked before routing: route prefixes cannot be sidestepped with
/// dot segments, doubled or encoded separators, backslashes, control bytes or broken escapes.
enum EdgePath {
    /// The path part of `target` (`/a/b?x=1` → `/a/b`) if it is canonical, else `nil`.
    static func canonicalPath(of target: String) -> String? {
        let path = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        guard path.hasPrefix("/"), path.utf8.count <= 4096, !path.contains("//") else { return nil }
        guard target.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\\") && $0 != UInt8(ascii: "#") }) else { return nil }
        let lowered = path.lowercased()
        for needle in ["%2e", "%2f", "%5c", "%00", "%25"] where lowered.contains(needle) { return nil }
        guard hasValidEscapes(target) else { return nil }
        guard !path.split(separator: "/", omittingEmptySubsequences: false).contains(where: { $0 == "." || $0 == ".." }) else { return nil }
        return path
    }

    /// Every `%` is followed by two hex digits.
    static func hasValidEscapes(_ text: String) -> Bool {
        var bytes = text.utf8.makeIterator()
        while let byte = bytes.next() {
            guard byte == UInt8(ascii: "%") else { continue }
            guard let high = bytes.next(), let low = bytes.next(), isHex(high), isHex(low) else { return false }
        }
        return true
    }

    private static func isHex(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
            || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte)
    }
}
