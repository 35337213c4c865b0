/// Makes message HTML safe to render in an agent's or customer's browser, by allow-list.
///
/// The input is tokenized and re-serialized: only listed elements and attributes survive, every
/// text and attribute value is decoded and re-escaped (so the browser parses exactly what was
/// checked), links may only be `http`, `https` or `mailto`, images only `http`, `https` or a
/// base64 `data:` PNG, JPEG, GIF or WebP. No `style` attribute or element (no CSS, so no CSS
/// expressions), no event handlers, no forms, frames, scripts, SVG or MathML; script-like
/// elements are dropped with their content. Unclosed elements are closed.
struct HTMLSanitizer: Sendable {
    static let allowedElements: Set<String> = [
        "a", "b", "blockquote", "br", "code", "div", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img",
        "li", "ol", "p", "pre", "s", "span", "strike", "strong", "sub", "sup", "table", "tbody", "td", "tfoot",
        "th", "thead", "tr", "u", "ul",
    ]
    static let voidElements: Set<String> = ["br", "hr", "img"]
    /// Dropped together with everything inside them.
    static let droppedWithContent: Set<String> = [
        "script", "style", "iframe", "object", "embed", "applet", "noscript", "noembed", "noframes", "template",
        "textarea", "title", "xmp", "plaintext", "svg", "math", "select", "frameset", "frame", "head", "audio", "video",
    ]
    static let globalAttributes: Set<String> = ["title", "lang", "dir"]
    static let elementAttributes: [String: Set<String>] = [
        "a": ["href"], "img": ["src", "alt", "width", "height"], "td": ["colspan", "rowspan"], "th": ["colspan", "rowspan"], "ol": ["start"],
    ]
    static let imageDataTypes = ["data:image/png;base64,", "data:image/jpeg;base64,", "data:image/gif;base64,", "data:image/webp;base64,"]

    /// The safe form of `html`.
    func sanitize(_ html: String) -> String {
        var tokenizer = HTMLTokenizer(html)
        var output = ""
        var open: [String] = []
        while let token = tokenizer.next() {
            switch token {
            case .text(let text):
                output += HTMLEntities.escapeText(Self.clean(HTMLEntities.decode(text)))
            case .startTag(let name, let attributes):
                if Self.droppedWithContent.contains(name) {
                    tokenizer.skipContent(of: name)
                    continue
                }
                guard Self.allowedElements.contains(name) else { continue }
                output += "<" + name + Self.render(attributes, of: name) + ">"
                if !Self.voidElements.contains(name) { open.append(name) }
            case .endTag(let name):
                guard let position = open.lastIndex(of: name) else { continue }
                for element in open[position...].reversed() { output += "</\(element)>" }
                open.removeSubrange(position...)
            }
        }
        for element in open.reversed() { output += "</\(element)>" }
        return output
    }

    /// The allowed attributes of one element, with safe values, ready to follow its name.
    static func render(_ attributes: [(name: String, value: String)], of element: String) -> String {
        var seen: Set<String> = []
        var output = ""
        for (name, raw) in attributes where !seen.contains(name) {
            seen.insert(name)
            guard globalAttributes.contains(name) || elementAttributes[element]?.contains(name) == true else { continue }
            let value: String?
            switch name {
            case "href": value = safeURL(raw, schemes: ["http", "https", "mailto"])
            case "src": value = safeURL(raw, schemes: ["http", "https"]) ?? safeImageData(raw)
            case "width", "height", "colspan", "rowspan", "start":
                value = raw.count <= 4 && !raw.isEmpty && raw.allSatisfy(\.isASCII) && raw.allSatisfy(\.isNumber) ? raw : nil
            default: value = clean(raw)
            }
            guard let value else { continue }
            output += " \(name)=\"\(HTMLEntities.escapeAttribute(value))\""
            // A kept link never passes the agent's page on, nor lends it search reputation.
            if name == "href" { output += #" rel="noopener noreferrer nofollow""# }
        }
        return output
    }

    /// `raw` without whitespace and control characters, if it is an absolute URL with an allowed scheme.
    static func safeURL(_ raw: String, schemes: Set<String>) -> String? {
        let compact = String(String.UnicodeScalarView(raw.unicodeScalars.filter { !isInvisible($0) }))
        guard let colon = compact.firstIndex(of: ":") else { return nil }
        let scheme = compact[..<colon].lowercased()
        guard schemes.contains(scheme), compact[compact.index(after: colon)...].first != nil else { return nil }
        return compact
    }

    /// A base64 `data:` URL of a raster image type, nothing else (no SVG, no HTML).
    static func safeImageData(_ raw: String) -> String? {
        let compact = String(String.UnicodeScalarView(raw.unicodeScalars.filter { !isInvisible($0) }))
        guard let type = imageDataTypes.first(where: { compact.lowercased().hasPrefix($0) }) else { return nil }
        let payload = compact.dropFirst(type.count)
        guard !payload.isEmpty, payload.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "+" || $0 == "/" || $0 == "=") }) else { return nil }
        return compact
    }

    /// Whitespace, control and zero-width characters: what browsers ignore inside URLs.
    static func isInvisible(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value <= 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.properties.isWhitespace
            || [0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x00AD].contains(scalar.value)
    }

    /// Text without NUL and other C0 controls (tabs and line breaks stay).
    static func clean(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\n" && $0 != "\t" && $0 != "\r" }) else { return text }
        return String(String.UnicodeScalarView(text.unicodeScalars.filter { $0.value >= 0x20 || $0 == "\n" || $0 == "\t" || $0 == "\r" }))
    }
}

extension HTMLSanitizer {
    /// The text content of (sanitized) HTML, for the search index; elements become spaces.
    static func text(of html: String) -> String {
        var tokenizer = HTMLTokenizer(html)
        var output = ""
        while let token = tokenizer.next() {
            if case .text(let text) = token { output += HTMLEntities.decode(text) } else { output += " " }
        }
        return output
    }
}
