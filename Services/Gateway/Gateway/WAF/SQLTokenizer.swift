/// Splits a value into SQL tokens, starting either outside any string or inside a string opened
/// by the query the value is pasted into (`'…` or `"…`), which is how injections break out.
struct SQLTokenizer {
    /// Where the injected value lands in the query.
    enum Context: CaseIterable {
        case bare, singleQuoted, doubleQuoted
    }

    static let keywords: Set<String> = [
        "select", "from", "where", "insert", "into", "update", "set", "delete", "drop", "table", "database",
        "create", "alter", "exec", "execute", "declare", "having", "group", "order", "by", "limit", "offset",
        "waitfor", "delay", "shutdown", "truncate", "values", "case", "when", "then", "else", "end", "all",
        "distinct", "procedure", "outfile", "dumpfile", "grant", "information_schema", "sysobjects", "top",
        "rename", "replace", "call", "load", "char", "if", "null", "true", "false", "as", "join",
    ]
    static let logicWords: Set<String> = ["and", "or", "xor", "div", "mod"]
    static let operatorWords: Set<String> = ["not", "like", "rlike", "regexp", "is", "in", "between", "sounds", "collate", "escape"]

    /// Every word that is not a bareword, with its kind: one lookup per word.
    static let wordKinds: [String: SQLToken.Kind] = {
        var kinds: [String: SQLToken.Kind] = [:]
        for word in keywords { kinds[word] = .keyword }
        for word in operatorWords { kinds[word] = .operator }
        for word in logicWords { kinds[word] = .logic }
        for word in ["null", "true", "false"] { kinds[word] = .number }
        kinds["union"] = .union
        return kinds
    }()

    /// The tokens of `input` read in `context`; at most `limit` tokens besides comments. Comments
    /// do not count (a run of them is kept as its last), so padding a value with comments does
    /// not push what follows out of sight.
    static func tokenize(_ input: [UInt8], context: Context, limit: Int = 32) -> [SQLToken] {
        var tokens: [SQLToken] = []
        var comments = 0
        var index = 0
        if context != .bare {
            let (end, closed) = stringEnd(input, from: 0, quote: context == .singleQuoted ? 0x27 : 0x22)
            tokens.append(SQLToken(kind: .string, range: 0..<min(end, input.count), closed: closed))
            index = closed ? end + 1 : input.count
        }
        while index < input.count, tokens.count - comments < limit {
            let byte = input[index]
            let next: UInt8 = index + 1 < input.count ? input[index + 1] : 0
            switch byte {
            case _ where ASCII.isSpace(byte) || byte == 0xA0:
                index += 1
            case 0x27, 0x22:
                let (end, closed) = stringEnd(input, from: index + 1, quote: byte)
                tokens.append(SQLToken(kind: .string, range: index + 1..<min(end, input.count), closed: closed))
                index = closed ? end + 1 : input.count
            case 0x60:
                let end = input[(index + 1)...].firstIndex(of: 0x60) ?? input.count
                tokens.append(SQLToken(kind: .bareword, range: index..<end))
                index = min(end + 1, input.count)
            case 0x2D where next == 0x2D && isCommentStart(input, index + 2), 0x23:
                appendComment(SQLToken(kind: .comment, range: index..<input.count), to: &tokens, counted: &comments)
                index = input[index...].firstIndex(of: 0x0A) ?? input.count
            case 0x2F where next == 0x2A:
                if index + 2 < input.count, input[index + 2] == 0x21 {
                    // MySQL executes `/*! … */`: read its contents as code.
                    var inner = index + 3
                    while inner < input.count, ASCII.isDigit(input[inner]) { inner += 1 }
                    index = inner
                } else {
                    // (Searched only here: `/*!/*!…` must not search to the end at every `/*!`.)
                    let end = ASCII.firstIndex(of: [0x2A, 0x2F], in: input, from: index + 2)
                    appendComment(SQLToken(kind: .comment, range: index..<(end.map { $0 + 2 } ?? input.count)), to: &tokens, counted: &comments)
                    index = end.map { $0 + 2 } ?? input.count
                }
            case 0x2A where next == 0x2F:
                index += 2
            case 0x28: tokens.append(SQLToken(kind: .leftParen, range: index..<index + 1)); index += 1
            case 0x29: tokens.append(SQLToken(kind: .rightParen, range: index..<index + 1)); index += 1
            case 0x2C: tokens.append(SQLToken(kind: .comma, range: index..<index + 1)); index += 1
            case 0x3B: tokens.append(SQLToken(kind: .semicolon, range: index..<index + 1)); index += 1
            case 0x40:
                var end = index + 1
                while end < input.count, input[end] == 0x40 { end += 1 }
                while end < input.count, isWordByte(input[end]) { end += 1 }
                tokens.append(SQLToken(kind: .variable, range: index..<end))
                index = end
            case _ where ASCII.isDigit(byte) || (byte == 0x2E && ASCII.isDigit(next)):
                var end = index + 1
                if byte == 0x30, next | 0x20 == 0x78 {
                    end += 1
                    while end < input.count, ASCII.hexValue(input[end]) != nil { end += 1 }
                } else {
                    while end < input.count, ASCII.isDigit(input[end]) || input[end] == 0x2E { end += 1 }
                    if end + 1 < input.count, input[end] | 0x20 == 0x65, ASCII.isDigit(input[end + 1]) || input[end + 1] == 0x2D || input[end + 1] == 0x2B {
                        end += 2
                        while end < input.count, ASCII.isDigit(input[end]) { end += 1 }
                    }
                }
                tokens.append(SQLToken(kind: .number, range: index..<end))
                index = end
            case _ where isWordByte(byte):
                var end = index + 1
                while end < input.count, isWordByte(input[end]) || input[end] == 0x2E { end += 1 }
                tokens.append(classifyWord(input, index..<end))
                index = end
            case 0x26 where next == 0x26, 0x7C where next == 0x7C:
                tokens.append(SQLToken(kind: .logic, range: index..<index + 2))
                index += 2
            case 0x3D, 0x3C, 0x3E, 0x21, 0x2B, 0x2D, 0x2A, 0x2F, 0x25, 0x5E, 0x7E, 0x7C, 0x26, 0x3A:
                var end = index + 1
                while end < input.count, end - index < 3, [0x3D, 0x3C, 0x3E, 0x21].contains(input[end]) { end += 1 }
                tokens.append(SQLToken(kind: .operator, range: index..<end))
                index = end
            default:
                tokens.append(SQLToken(kind: .unknown, range: index..<index + 1))
                index += 1
            }
        }
        markFunctions(&tokens)
        return tokens
    }

    /// Appends a comment, or replaces the one it directly follows: a run of comments is one.
    private static func appendComment(_ comment: SQLToken, to tokens: inout [SQLToken], counted: inout Int) {
        if tokens.last?.kind == .comment {
            tokens[tokens.count - 1] = comment
        } else {
            tokens.append(comment)
            counted += 1
        }
    }

    /// Where the string opened before `start` ends: the index of its closing quote, and whether one
    /// was found. A doubled quote or a backslash escape does not close it.
    private static func stringEnd(_ input: [UInt8], from start: Int, quote: UInt8) -> (Int, Bool) {
        var index = start
        while index < input.count {
            let byte = input[index]
            if byte == 0x5C {
                index += 2
            } else if byte == quote {
                if index + 1 < input.count, input[index + 1] == quote {
                    index += 2
                } else {
                    return (index, true)
                }
            } else {
                index += 1
            }
        }
        return (input.count, false)
    }

    /// `--` starts a comment when followed by the end, whitespace, `-` or `+` (MySQL needs the space;
    /// inside opaque tokens such as `ab--cd` it is not a comment).
    private static func isCommentStart(_ input: [UInt8], _ index: Int) -> Bool {
        guard index < input.count else { return true }
        let byte = input[index]
        return ASCII.isSpace(byte) || byte == 0x2D || byte == 0x2B || byte < 0x20
    }

    @inline(__always) private static func isWordByte(_ byte: UInt8) -> Bool {
        ASCII.isAlphanumeric(byte) || byte == 0x5F || byte == 0x24 || byte >= 0x80
    }

    private static func classifyWord(_ input: [UInt8], _ range: Range<Int>) -> SQLToken {
        guard range.count <= 24 else { return SQLToken(kind: .bareword, range: range) }
        // Up to 15 bytes this is a small string: no allocation.
        let word = String(unsafeUninitializedCapacity: range.count) { buffer in
            for (offset, position) in range.enumerated() { buffer[offset] = ASCII.lower(input[position]) }
            return range.count
        }
        let kind = wordKinds[word] ?? (word.hasPrefix("information_schema") ? .keyword : .bareword)
        return SQLToken(kind: kind, range: range, word: word)
    }

    /// A bareword or keyword directly followed by `(` is a function call.
    private static func markFunctions(_ tokens: inout [SQLToken]) {
        guard tokens.count > 1 else { return }
        for index in 0..<(tokens.count - 1) where tokens[index + 1].kind == .leftParen {
            if tokens[index].kind == .bareword || (tokens[index].kind == .keyword && ["char", "if", "values", "exec", "replace", "load"].contains(tokens[index].word)) {
                tokens[index].kind = .function
            }
        }
    }
}
