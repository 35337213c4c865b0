/// Inspects fields that legitimately carry HTML and code (ticket message bodies): parses them as
/// HTML and flags only what a sanitizer would have to strip because it runs — `<script>`, plugin
/// embeds, event-handler attributes, script URLs, script in styles, inline documents. Escaped code,
/// SQL, tables, inline styles, links and images pass.
enum RichTextInspector {
    /// Tags that run script or plugins wherever they appear.
    static let executableTags: Set<[UInt8]> = Set(["script", "object", "embed", "applet", "portal"].map { Array($0.utf8) })

    /// Elements whose content HTML reads as text up to their end tag (raw text and RCDATA).
    static let rawTextTags: Set<[UInt8]> = Set(["style", "title", "textarea", "noscript", "xmp", "iframe", "noembed", "noframes"].map { Array($0.utf8) })

    /// Where the first executable construct starts, or nil. The value is read twice, as a browser
    /// might read it: once with raw-text elements (`<title>`, `<textarea>`, `<noscript>`,
    /// `<style>`, …) ending at their end tag, as in HTML, where `<p title="</noscript><img …>">`
    /// hides a tag in what looks like an attribute; and once with their content read as markup,
    /// as inside SVG and MathML, where `<svg><style><img …>` is a tag.
    static func detect(_ value: [UInt8]) -> Int? {
        guard value.contains(0x3C) else { return nil }
        return scan(value, rawText: true) ?? scan(value, rawText: false)
    }

    private static func scan(_ value: [UInt8], rawText: Bool) -> Int? {
        // Lowercased only once an end tag is searched for (most bodies have no raw-text element).
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
            // Read as raw text, the content runs to the end tag and the scan goes on after it (so
            // the searches for end tags never overlap); read as markup, the scan goes on inside.
            if rawText, rawTextTags.contains(tag.name) {
                if lowered == nil { lowered = value.map(ASCII.lower) }
                let end = ASCII.firstIndex(of: [0x3C, 0x2F] + tag.name, in: lowered ?? value, from: tag.range.upperBound) ?? value.count
                if tag.name == HTMLTag.style, HTMLTag.isScriptStyle(value[tag.range.upperBound..<end]) { return open }
                index = end
                continue
            }
            index = max(open + 1, tag.range.upperBound)
        }
        return nil
    }

    /// The end of the HTML comment opening at `start`: `-->`, or `--!>` as HTML5 also ends one
    /// (`<!-->` and `<!--->` end at once).
    private static func commentEnd(_ value: [UInt8], _ start: Int) -> Int {
        if ASCII.hasPrefix(value, at: start, "<!-->") { return start + 5 }
        if ASCII.hasPrefix(value, at: start, "<!--->") { return start + 6 }
        var index = start + 4
        while let dash = value[min(index, value.count)...].firstIndex(of: 0x2D) {
            if dash + 2 < value.count, value[dash + 1] == 0x2D {
                if value[dash + 2] == 0x3E { return dash + 3 }
                if value[dash + 2] == 0x21, dash + 3 < value.count, value[dash + 3] == 0x3E { return dash + 4 }
            }
            index = dash + 1
        }
        return value.count
    }
}
