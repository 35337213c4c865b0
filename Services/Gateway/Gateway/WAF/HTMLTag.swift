/// One start tag read from HTML the way a browser's tokenizer reads it: name and attributes, with
/// `/` as a separator (`<svg/onload=…>`) and unterminated tags running to the end of the input.
struct HTMLTag {
    /// One attribute: lowercased name, raw value (character references not yet decoded).
    struct Attribute {
        var name: [UInt8]
        var value: ArraySlice<UInt8>
    }

    /// The lowercased tag name.
    var name: [UInt8]
    var attributes: [Attribute]
    /// Where the tag starts (its `<`) and ends (after its `>`).
    var range: Range<Int>

    /// Reads the start tag whose `<` is at `start`, or nil when no tag starts there.
    static func read(_ input: [UInt8], at start: Int) -> HTMLTag? {
        var index = start + 1
        guard index < input.count, ASCII.isLetter(input[index]) else { return nil }
        var name: [UInt8] = []
        while index < input.count, !isTagSeparator(input[index]) {
            name.append(ASCII.lower(input[index]))
            index += 1
        }
        var attributes: [Attribute] = []
        while index < input.count {
            while index < input.count, isTagSeparator(input[index]), input[index] != 0x3E { index += 1 }
            guard index < input.count, input[index] != 0x3E else { break }
            var attributeName: [UInt8] = [ASCII.lower(input[index])]
            index += 1
            while index < input.count, !isTagSeparator(input[index]), input[index] != 0x3D {
                attributeName.append(ASCII.lower(input[index]))
                index += 1
            }
            var probe = index
            while probe < input.count, ASCII.isSpace(input[probe]) { probe += 1 }
            var value: ArraySlice<UInt8> = []
            if probe < input.count, input[probe] == 0x3D {
                index = probe + 1
                while index < input.count, ASCII.isSpace(input[index]) { index += 1 }
                if index < input.count, input[index] == 0x22 || input[index] == 0x27 {
                    let quote = input[index]
                    let end = input[(index + 1)...].firstIndex(of: quote) ?? input.count
                    value = input[(index + 1)..<end]
                    index = min(end + 1, input.count)
                } else {
                    let valueStart = index
                    while index < input.count, !ASCII.isSpace(input[index]), input[index] != 0x3E { index += 1 }
                    value = input[valueStart..<index]
                }
            }
            attributes.append(Attribute(name: attributeName, value: value))
            if attributes.count > 64 { break }
        }
        let end = index < input.count ? index + 1 : input.count
        return HTMLTag(name: name, attributes: attributes, range: start..<end)
    }

    @inline(__always) private static func isTagSeparator(_ byte: UInt8) -> Bool {
        ASCII.isSpace(byte) || byte == 0x2F || byte == 0x3E
    }

    static let style = Array("style".utf8)
    static let srcdoc = Array("srcdoc".utf8)

    /// Whether an attribute name is an event handler (`onload`, `onerror`, `onpointerenter`, …).
    static func isEventHandler(_ name: [UInt8]) -> Bool {
        name.count >= 5 && name[0] == 0x6F && name[1] == 0x6E && name[2...].allSatisfy(ASCII.isLetter)
    }

    /// Attributes whose value is a URL or, for SVG animation and meta refresh, may become one.
    static let urlAttributes: Set<[UInt8]> = Set([
        "href", "src", "action", "formaction", "data", "xlink:href", "background", "poster", "lowsrc", "dynsrc",
        "codebase", "cite", "longdesc", "usemap", "ping", "values", "to", "from", "by", "content", "srcset", "code",
    ].map { Array($0.utf8) })

    /// Whether a URL-valued attribute value runs script once decoded: `javascript:`, `vbscript:`,
    /// `data:text/html`, even with entities, tabs and newlines inside or spaces in front.
    static func isScriptURL(_ rawValue: ArraySlice<UInt8>, anywhere: Bool = false) -> Bool {
        let raw = Array(rawValue)
        let decoded = HTMLEntityDecoding.decode(raw) ?? raw
        var compact: [UInt8] = []
        compact.reserveCapacity(min(decoded.count, 64))
        for byte in decoded where byte > 0x20 {
            compact.append(ASCII.lower(byte))
        }
        guard let match = PhraseMatcher.scriptSchemes.firstMatch(in: compact) else { return false }
        return anywhere || match.range.lowerBound == 0
    }

    /// Attributes where a script URL may appear after other text (`content="0;url=javascript:…"`, SVG `values="a;javascript:…"`).
    static let embeddedURLAttributes: Set<[UInt8]> = Set(["content", "values"].map { Array($0.utf8) })

    /// Whether a style value runs script: `expression(`, `javascript:`, `-moz-binding`, `behavior:`.
    static func isScriptStyle(_ rawValue: some Collection<UInt8>) -> Bool {
        let raw = Array(rawValue)
        var decoded = HTMLEntityDecoding.decode(raw) ?? raw
        decoded = WAFTransformation.removeComments.apply(decoded) ?? decoded
        let compact = decoded.filter { $0 > 0x20 && $0 != 0x5C }
        return PhraseMatcher.scriptStyles.firstMatch(in: compact) != nil
    }
}

extension PhraseMatcher {
    /// URL schemes that run script.
    static let scriptSchemes = PhraseMatcher(["javascript:", "vbscript:", "livescript:", "data:text/html", "data:application/xhtml", "data:application/javascript", "data:text/javascript", "data:image/svg+xml"])
    /// CSS that runs script.
    static let scriptStyles = PhraseMatcher(["expression(", "javascript:", "vbscript:", "-moz-binding", "behavior:", "behaviour:"])
}
