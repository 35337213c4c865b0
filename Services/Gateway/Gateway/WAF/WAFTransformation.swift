import Foundation

/// A transformation applied to a target's value before a rule's operator sees it. Each returns nil
/// when it would not change the value, so unchanged values are never copied.
public enum WAFTransformation: String, Sendable, Codable, CaseIterable {
    /// One pass of percent-decoding (`%XX` and IIS `%uXXXX`); invalid escapes stay as they are.
    case urlDecode = "url_decode"
    /// Percent-decoding repeated until nothing changes (at most 4 passes): double encoding.
    case urlDecodeMulti = "url_decode_multi"
    /// HTML character references: named (`&lt;`), decimal (`&#60;`), hexadecimal (`&#x3c;`), with or without `;`.
    case htmlEntityDecode = "html_entity_decode"
    /// Unicode NFKC normalization (fullwidth `＜` becomes `<`); only non-ASCII values are touched.
    case unicodeNormalize = "nfkc"
    /// ASCII lowercasing.
    case lowercase
    /// Every run of whitespace becomes one space.
    case compressWhitespace = "compress_whitespace"
    /// Backslashes become slashes, repeated slashes collapse, `.` and `..` segments are resolved.
    case normalizePath = "normalize_path"
    /// NUL bytes are removed.
    case removeNulls = "remove_nulls"
    /// `/* … */` and `<!-- … -->` comments are removed.
    case removeComments = "remove_comments"
    /// Shell evasion undone: `\`, `"`, `'` and `^` removed, `,` and `;` become spaces, whitespace
    /// compressed, lowercased (like ModSecurity's `cmdLine`).
    case commandLine = "cmd_line"
    /// Shell quoting undone inside words, separators kept: `\`, `^`, paired `"` and `'`, and the
    /// expansions that are empty in a command name (`$@`, `$*`) dropped from a word they split:
    /// `i\d`, `"i"d`, `who$@ami` become `id`, `whoami`; `I'd` and `"Timeout"` stay as they are.
    case shellUnquote = "shell_unquote"


    /// The transformed value, or nil when unchanged.
    func apply(_ value: [UInt8]) -> [UInt8]? {
        switch self {
        case .urlDecode: URLDecoding.decode(value, plusAsSpace: false)
        case .urlDecodeMulti: URLDecoding.decodeRepeatedly(value)
        case .htmlEntityDecode: HTMLEntityDecoding.decode(value)
        case .unicodeNormalize: Self.normalizeUnicode(value)
        case .lowercase: Self.lowercase(value)
        case .compressWhitespace: Self.compressWhitespace(value)
        case .normalizePath: PathNormalization.normalize(value)
        case .removeNulls: value.contains(0) ? value.filter { $0 != 0 } : nil
        case .removeComments: Self.removeComments(value)
        case .commandLine: Self.commandLine(value)
        case .shellUnquote: Self.shellUnquote(value)
        }
    }

    static func normalizeUnicode(_ value: [UInt8]) -> [UInt8]? {
        guard value.contains(where: { $0 >= 0x80 }) else { return nil }
        let normalized = Array(String(decoding: value, as: UTF8.self).precomposedStringWithCompatibilityMapping.utf8)
        return normalized == value ? nil : normalized
    }

    static func lowercase(_ value: [UInt8]) -> [UInt8]? {
        guard value.contains(where: { $0 &- 0x41 < 26 }) else { return nil }
        return value.map(ASCII.lower)
    }

    static func compressWhitespace(_ value: [UInt8]) -> [UInt8]? {
        var output: [UInt8] = []
        var changed = false
        var previousWasSpace = false
        for byte in value {
            if ASCII.isSpace(byte) {
                if previousWasSpace || byte != 0x20 { changed = true }
                if !previousWasSpace { output.append(0x20) }
                previousWasSpace = true
            } else {
                output.append(byte)
                previousWasSpace = false
            }
        }
        return changed ? output : nil
    }

    static func removeComments(_ value: [UInt8]) -> [UInt8]? {
        guard value.contains(0x2A) || value.contains(0x21) else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(value.count)
        var index = 0
        var changed = false
        while index < value.count {
            if value[index] == 0x2F, index + 1 < value.count, value[index + 1] == 0x2A {
                changed = true
                index = (ASCII.firstIndex(of: [0x2A, 0x2F], in: value, from: index + 2).map { $0 + 2 }) ?? value.count
            } else if ASCII.hasPrefix(value, at: index, "<!--") {
                changed = true
                index = (ASCII.firstIndex(of: [0x2D, 0x2D, 0x3E], in: value, from: index + 4).map { $0 + 3 }) ?? value.count
            } else {
                output.append(value[index])
                index += 1
            }
        }
        return changed ? output : nil
    }

    static func commandLine(_ value: [UInt8]) -> [UInt8]? {
        var output: [UInt8] = []
        output.reserveCapacity(value.count)
        for byte in value {
            switch byte {
            case 0x5C, 0x22, 0x27, 0x5E: continue
            case 0x2C, 0x3B, 0x09, 0x0A, 0x0D, 0x20:
                if output.last != 0x20 { output.append(0x20) }
            default: output.append(ASCII.lower(byte))
            }
        }
        return output == value ? nil : output
    }

    static func shellUnquote(_ value: [UInt8]) -> [UInt8]? {
        guard value.contains(where: { $0 == 0x5C || $0 == 0x22 || $0 == 0x27 || $0 == 0x5E || $0 == 0x24 }) else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(value.count)
        var start = 0
        while start < value.count {
            guard !isShellBreak(value[start]) else {
                output.append(value[start])
                start += 1
                continue
            }
            var end = start
            while end < value.count, !isShellBreak(value[end]) { end += 1 }
            appendUnquoted(value[start..<end], to: &output)
            start = end
        }
        return output == value ? nil : output
    }

    /// Bytes that end a shell word: white space and the shell's own separators.
    private static func isShellBreak(_ byte: UInt8) -> Bool {
        ASCII.isSpace(byte) || byte == 0x3B || byte == 0x7C || byte == 0x26 || byte == 0x60 || byte == 0x28 || byte == 0x29 || byte == 0x3C || byte == 0x3E
    }

    /// Appends `word` without the quoting a shell removes — backslashes, carets, `$@`, `$*`, and
    /// quotes that pair up (a shell rejects an unpaired one, so the apostrophe of "I'd" is text)
    /// — when some of it sits inside the word (`i\d`, `"i"d`, `who$@ami`); else as it is:
    /// quotes around a whole word stay (`"Timeout" - …`, and CSV headers such as
    /// `"Name";"ID"`, which read like `;"id"`).
    private static func appendUnquoted(_ word: ArraySlice<UInt8>, to output: inout [UInt8]) {
        guard word.contains(where: { $0 == 0x5C || $0 == 0x22 || $0 == 0x27 || $0 == 0x5E || $0 == 0x24 }) else {
            output += word
            return
        }
        let pairedSingle = word.count(where: { $0 == 0x27 }) % 2 == 0
        let pairedDouble = word.count(where: { $0 == 0x22 }) % 2 == 0
        let mark = output.count
        var removedInside = false
        var index = word.startIndex
        while index < word.endIndex {
            let byte = word[index]
            let next: UInt8 = index + 1 < word.endIndex ? word[index + 1] : 0
            let width = switch byte {
            case 0x5C, 0x5E: 1
            case 0x27 where pairedSingle: 1
            case 0x22 where pairedDouble: 1
            case 0x24 where next == 0x40 || next == 0x2A: 2
            default: 0
            }
            if width == 0 {
                output.append(byte)
                index += 1
            } else {
                if output.count > mark, index + width < word.endIndex { removedInside = true }
                index += width
            }
        }
        if !removedInside {
            output.removeSubrange(mark...)
            output += word
        }
    }
}
