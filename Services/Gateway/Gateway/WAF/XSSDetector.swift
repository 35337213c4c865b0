/// Decides whether a value that should be plain text (a search, a subject, a query argument) carries
/// script for a browser: tags that run or load script, event-handler attributes, script URLs, or a
/// quote breaking out of an attribute into an event handler. Markup that cannot run (`<b>`, `a < b`)
/// is not flagged.
enum XSSDetector {
    /// Tags that run or embed script, or change how the page loads it.
    static let dangerousTags: Set<[UInt8]> = Set([
        "script", "iframe", "frame", "frameset", "object", "embed", "applet", "base", "meta", "link", "import",
        "isindex", "portal",
    ].map { Array($0.utf8) })

    /// Where the script starts in `value`, or nil.
    static func detect(_ value: [UInt8]) -> Int? {
        var index = 0
        while let open = value[index...].firstIndex(where: { $0 == 0x3C }) {
            if let tag = HTMLTag.read(value, at: open) {
                if dangerousTags.contains(tag.name) || isExecutable(tag) { return open }
                index = max(open + 1, tag.range.upperBound)
            } else {
                index = open + 1
            }
            if index >= value.count { break }
        }
        if let found = scriptURL(value) { return found }
        return attributeBreakout(value)
    }

    /// Whether a tag's attributes run script (event handlers, script URLs, script in styles, srcdoc).
    static func isExecutable(_ tag: HTMLTag) -> Bool {
        for attribute in tag.attributes {
            if HTMLTag.isEventHandler(attribute.name) { return true }
            if attribute.name == HTMLTag.srcdoc { return true }
            if attribute.name == HTMLTag.style, HTMLTag.isScriptStyle(attribute.value) { return true }
            if HTMLTag.urlAttributes.contains(attribute.name),
               HTMLTag.isScriptURL(attribute.value, anywhere: HTMLTag.embeddedURLAttributes.contains(attribute.name)) { return true }
        }
        return false
    }

    /// A value that is itself a script URL (`javascript:alert(1)`), or calls one.
    private static func scriptURL(_ value: [UInt8]) -> Int? {
        guard value.contains(0x3A) else { return nil }
        var compact: [UInt8] = []
        var positions: [Int] = []
        for (index, byte) in value.enumerated() where byte > 0x20 {
            compact.append(ASCII.lower(byte))
            positions.append(index)
        }
        guard let match = PhraseMatcher.scriptSchemes.firstMatch(in: compact) else { return nil }
        // Only when code follows (a call, a template call or an assignment): "JavaScript: how to embed
        // the widget" is a question, "javascript:alert(1)" is not, and neither is "JavaScript:
        // Uncaught TypeError (undefined …)": two words side by side before the call are prose.
        let after = compact[match.range.upperBound...].prefix(48)
        guard after.contains(where: { $0 == 0x28 || $0 == 0x60 || $0 == 0x3D }) else { return nil }
        return readsAsCode(value, from: positions[match.range.upperBound - 1] + 1) ? positions[match.range.lowerBound] : nil
    }

    /// Words JavaScript allows before an expression, separated from it by a space (`new Function(…)`).
    static let expressionPrefixes: Set<String> = ["new", "void", "typeof", "throw", "delete", "await", "return", "yield", "let", "var", "const", "do", "else"]
    /// Words JavaScript allows between two expressions (`0 in alert(1)` calls `alert`).
    static let infixWords: Set<String> = ["in", "instanceof"]

    /// Whether what follows a script scheme at `start` reaches a call, template or assignment
    /// without two words side by side (other than a keyword and its expression, or an infix
    /// word between two); a line break ends a statement (`0` then `alert(1)` on the next line).
    private static func readsAsCode(_ value: [UInt8], from start: Int) -> Bool {
        var index = start
        var word: [UInt8] = []
        var previousWord: String?
        while index < value.count, index - start < 256 {
            let byte = value[index]
            // Comments are nothing to the parser: `/*a b*/alert(1)` is a call; a line comment ends
            // at its line break, which the next pass reads.
            if byte == 0x2F, index + 1 < value.count, value[index + 1] == 0x2A || value[index + 1] == 0x2F {
                if !word.isEmpty { previousWord = String(decoding: word, as: UTF8.self); word = [] }
                let close: [UInt8] = value[index + 1] == 0x2A ? [0x2A, 0x2F] : [0x0A]
                index = (ASCII.firstIndex(of: close, in: value, from: index + 2) ?? value.count) + (close.count == 2 ? 2 : 0)
                continue
            }
            if ASCII.isAlphanumeric(byte) || byte == 0x5F || byte == 0x24 || byte >= 0x80 {
                word.append(ASCII.lower(byte))
                index += 1
                continue
            }
            if !word.isEmpty {
                let current = String(decoding: word, as: UTF8.self)
                if let previousWord, !expressionPrefixes.contains(previousWord), !infixWords.contains(previousWord), !infixWords.contains(current) {
                    return false
                }
                word = []
                previousWord = current
            }
            if byte == 0x28 || byte == 0x60 || byte == 0x3D { return true }
            // Punctuation joins what is on either side (`a.b`, `x[0]`, `/**/`); a line break ends the statement.
            if !(byte == 0x20 || byte == 0x09) { previousWord = nil }
            index += 1
        }
        return false
    }

    /// A quote followed by an event handler: `" onmouseover="alert(1)` (breaking out of an attribute).
    private static func attributeBreakout(_ value: [UInt8]) -> Int? {
        guard let quote = value.firstIndex(where: { $0 == 0x22 || $0 == 0x27 || $0 == 0x60 }) else { return nil }
        var index = quote + 1
        while index + 4 < value.count {
            let before = value[index - 1]
            if ASCII.lower(value[index]) == 0x6F, ASCII.lower(value[index + 1]) == 0x6E,
               ASCII.isSpace(before) || before == 0x2F || before == 0x22 || before == 0x27 {
                // Event names are short; bounding the scan keeps `ononon…` linear.
                var end = index + 2
                while end < value.count, end - index < 40, ASCII.isLetter(value[end]) { end += 1 }
                var probe = end
                while probe < value.count, ASCII.isSpace(value[probe]) { probe += 1 }
                if end - index >= 5, probe < value.count, value[probe] == 0x3D { return index }
            }
            index += 1
        }
        return nil
    }
}
