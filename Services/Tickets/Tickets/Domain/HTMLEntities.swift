/// Decoding and escaping of HTML character references, for the sanitizer.
enum HTMLEntities {
    /// Named references the sanitizer understands; any other `&name;` stays literal text.
    static let named: [String: String] = [
        "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": "\u{00A0}", "colon": ":",
        "tab": "\t", "newline": "\n", "sol": "/", "lpar": "(", "rpar": ")", "semi": ";", "comma": ",",
        "period": ".", "excl": "!", "num": "#", "percnt": "%", "equals": "=", "copy": "©", "reg": "®",
        "hellip": "…", "mdash": "—", "ndash": "–", "lsquo": "‘", "rsquo": "’", "ldquo": "“", "rdquo": "”", "euro": "€",
    ]

    /// `text` with numeric (`&#58;`, `&#x3a;`, with or without `;`) and known named references decoded.
    /// Invalid code points (NUL, surrogates, beyond U+10FFFF) become U+FFFD.
    static func decode(_ text: some StringProtocol) -> String {
        guard text.contains("&") else { return String(text) }
        var output = ""
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            guard character == "&" else {
                output.append(character)
                index = text.index(after: index)
                continue
            }
            if let (decoded, next) = reference(in: text, at: index) {
                output += decoded
                index = next
            } else {
                output.append("&")
                index = text.index(after: index)
            }
        }
        return output
    }

    private static func reference<S: StringProtocol>(in text: S, at ampersand: S.Index) -> (String, S.Index)? {
        var index = text.index(after: ampersand)
        guard index < text.endIndex else { return nil }
        if text[index] == "#" {
            index = text.index(after: index)
            var hex = false
            if index < text.endIndex, text[index] == "x" || text[index] == "X" {
                hex = true
                index = text.index(after: index)
            }
            func isDigit(_ character: Character) -> Bool { hex ? character.isHexDigit : ("0"..."9").contains(character) }
            var digits = ""
            var sawDigit = false
            while index < text.endIndex, isDigit(text[index]) {
                sawDigit = true
                if !(digits.isEmpty && text[index] == "0") { digits.append(text[index]) }
                index = text.index(after: index)
            }
            guard sawDigit else { return nil }
            if digits.isEmpty { digits = "0" }
            if index < text.endIndex, text[index] == ";" { index = text.index(after: index) }
            let value = digits.count <= 8 ? UInt32(digits, radix: hex ? 16 : 10) ?? 0xFFFD : 0xFFFD
            let scalar = (value == 0 ? nil : Unicode.Scalar(value)) ?? "\u{FFFD}"
            return (String(Character(scalar)), index)
        }
        var name = ""
        while index < text.endIndex, text[index].isLetter || text[index].isNumber, name.count < 12 {
            name.append(text[index])
            index = text.index(after: index)
        }
        guard let value = named[name.lowercased()] ?? named[name] else { return nil }
        if index < text.endIndex, text[index] == ";" { index = text.index(after: index) }
        return (value, index)
    }

    /// Text for an element's content: `&`, `<` and `>` escaped.
    static func escapeText(_ text: String) -> String {
        var output = ""
        output.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": output += "&amp;"
            case "<": output += "&lt;"
            case ">": output += "&gt;"
            default: output.unicodeScalars.append(scalar)
            }
        }
        return output
    }

    /// Text for a double-quoted attribute value: also `"`, `'` and the backtick escaped.
    static func escapeAttribute(_ text: String) -> String {
        var output = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": output += "&amp;"
            case "<": output += "&lt;"
            case ">": output += "&gt;"
            case "\"": output += "&quot;"
            case "'": output += "&#39;"
            case "`": output += "&#96;"
            default: output.unicodeScalars.append(scalar)
            }
        }
        return output
    }
}
