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
    /// Works on Unicode scalars, so a combining mark never hides a `;`. Invalid code points (NUL,
    /// surrogates, beyond U+10FFFF) become U+FFFD.
    static func decode(_ text: some StringProtocol) -> String {
        guard text.contains("&") else { return String(text) }
        let scalars = Array(text.unicodeScalars)
        var output = String.UnicodeScalarView()
        var index = 0
        while index < scalars.count {
            if scalars[index] == "&", let (decoded, next) = reference(in: scalars, at: index) {
                output.append(contentsOf: decoded.unicodeScalars)
                index = next
            } else {
                output.append(scalars[index])
                index += 1
            }
        }
        return String(output)
    }

    private static func reference(in scalars: [Unicode.Scalar], at ampersand: Int) -> (String, Int)? {
        var index = ampersand + 1
        guard index < scalars.count else { return nil }
        func isASCIIDigit(_ scalar: Unicode.Scalar) -> Bool { ("0"..."9").contains(scalar) }
        func isASCIILetter(_ scalar: Unicode.Scalar) -> Bool { ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) }
        if scalars[index] == "#" {
            index += 1
            var hex = false
            if index < scalars.count, scalars[index] == "x" || scalars[index] == "X" {
                hex = true
                index += 1
            }
            func isDigit(_ scalar: Unicode.Scalar) -> Bool {
                isASCIIDigit(scalar) || hex && (("a"..."f").contains(scalar) || ("A"..."F").contains(scalar))
            }
            var digits = ""
            var sawDigit = false
            while index < scalars.count, isDigit(scalars[index]) {
                sawDigit = true
                if !(digits.isEmpty && scalars[index] == "0") { digits.unicodeScalars.append(scalars[index]) }
                index += 1
            }
            guard sawDigit else { return nil }
            if digits.isEmpty { digits = "0" }
            if index < scalars.count, scalars[index] == ";" { index += 1 }
            let value = digits.count <= 8 ? UInt32(digits, radix: hex ? 16 : 10) ?? 0xFFFD : 0xFFFD
            let scalar = (value == 0 ? nil : Unicode.Scalar(value)) ?? "\u{FFFD}"
            return (String(scalar), index)
        }
        var name = ""
        while index < scalars.count, isASCIILetter(scalars[index]) || isASCIIDigit(scalars[index]), name.unicodeScalars.count < 12 {
            name.unicodeScalars.append(scalars[index])
            index += 1
        }
        guard let value = named[name.lowercased()] ?? named[name] else { return nil }
        if index < scalars.count, scalars[index] == ";" { index += 1 }
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
