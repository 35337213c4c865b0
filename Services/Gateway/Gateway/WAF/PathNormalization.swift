/// Path normalization for file-name matching: `\` as `/`, repeated slashes collapsed, `.` and `..`
/// segments resolved (a `..` above the start is dropped).
enum PathNormalization {
    /// The normalized path, or nil when already normal.
    static func normalize(_ value: [UInt8]) -> [UInt8]? {
        guard !isNormal(value) else { return nil }
        let absolute = value.first == 0x2F || value.first == 0x5C
        var segments: [ArraySlice<UInt8>] = []
        for segment in value.split(omittingEmptySubsequences: true, whereSeparator: { $0 == 0x2F || $0 == 0x5C }) {
            if segment.elementsEqual([0x2E]) { continue }
            if segment.elementsEqual([0x2E, 0x2E]) {
                _ = segments.popLast()
                continue
            }
            segments.append(segment)
        }
        var output: [UInt8] = absolute ? [0x2F] : []
        for (index, segment) in segments.enumerated() {
            if index > 0 { output.append(0x2F) }
            output.append(contentsOf: segment)
        }
        if value.count > 1, value.last == 0x2F || value.last == 0x5C, !segments.isEmpty { output.append(0x2F) }
        return output == value ? nil : output
    }

    /// Whether `value` is its own normal form, found in one pass without taking it apart (most
    /// paths and values are): no backslash, no empty segment after the first (`//`), and no `.`
    /// or `..` segment.
    private static func isNormal(_ value: [UInt8]) -> Bool {
        var segmentStart = 0
        for index in 0...value.count {
            let byte = index < value.count ? value[index] : 0x2F
            if byte == 0x5C { return false }
            guard byte == 0x2F else { continue }
            let length = index - segmentStart
            if length == 0, index > 0, index < value.count { return false }
            if length == 1, value[segmentStart] == 0x2E { return false }
            if length == 2, value[segmentStart] == 0x2E, value[segmentStart + 1] == 0x2E { return false }
            segmentStart = index + 1
        }
        return true
    }
}
