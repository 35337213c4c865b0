/// Inspects fields that legitimately carry HTML and code (ticket message bodies): parses them as
/// HTML and flags only what a sanitizer would have to strip because it runs — `<script>`, plugin
/// embeds, event-handler attributes, script URLs, script in styles, inline documents. Escaped code,
/// SQL, tables, inline styles, links and images pass.
enum RichTextInspector {
    /// Tags that run script or plugins wherever they appear.
    static let executableTags: Set<[UInt8]> = Set(["script", "object", "embed", "applet", "portal"].map { Array($0.utf8) })

    private static let styleEnd = Array("</style".utf8)
    private static let commentClose = Array("-->".utf8)

    /// Where the first executable construct starts, or nil.
    static func detect(_ value: [UInt8]) -> Int? {
        var lowered: [UInt8]?
        var index = 0
        while index < value.count {
            guard let open = value[index...].firstIndex(of: 0x3C) else { return nil }
            if ASCII.hasPrefix(value, at: open, "<!--") {
                index = commentEnd(value, open)
                continue
            }
            guard let tag = HTMLTag.read(value, at: open) else {
                index = open + 1
                continue
            }
            if executableTags.contains(tag.name) || XSSDetector.isExecutable(tag) { return open }
            if tag.name == HTMLTag.style {
                if lowered == nil { lowered = value.map(ASCII.lower) }
                let end = ASCII.firstIndex(of: Self.styleEnd, in: lowered ?? value, from: tag.range.upperBound) ?? value.count
                if HTMLTag.isScriptStyle(value[tag.range.upperBound..<end]) { return open }
                index = end
                continue
            }
            index = max(open + 1, tag.range.upperBound)
        }
        return nil
    }

    /// The end of the HTML comment opening at `start` (`<!-->` and `<!--->` end at once, as in HTML5).
    private static func commentEnd(_ value: [UInt8], _ start: Int) -> Int {
        if ASCII.hasPrefix(value, at: start, "<!-->") { return start + 5 }
        if ASCII.hasPrefix(value, at: start, "<!--->") { return start + 6 }
        return ASCII.firstIndex(of: commentClose, in: value, from: start + 4).map { $0 + 3 } ?? value.count
    }
}
