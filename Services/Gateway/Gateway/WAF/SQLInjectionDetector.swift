/// Decides whether a value is an SQL injection, in the spirit of libinjection: the value is
/// tokenized as if pasted into a query bare, inside `'…'` and inside `"…"`, and the token sequence
/// is checked for the shapes injections take (breaking out of the string, then logic, UNION,
/// stacked statements, comments, time-based functions). Prose with apostrophes and SQL words does
/// not take those shapes.
enum SQLInjectionDetector {
    /// Functions whose use in an injected value is an attack (timing, error-based extraction, files).
    static let dangerousFunctions: Set<String> = [
        "sleep", "benchmark", "pg_sleep", "load_file", "extractvalue", "updatexml", "xp_cmdshell",
        "dbms_pipe.receive_message", "utl_http.request", "utl_inaddr.get_host_name", "randomblob",
        "geometrycollection", "polygon", "multipoint", "name_const", "pg_read_file", "lo_import",
        "dbms_lock.sleep", "sys_eval", "sys_exec", "gtid_subset", "json_keys",
    ]
    /// Statements that, after `;`, start a stacked query when followed by their second word.
    static let statementStarts: Set<String> = [
        "drop", "delete", "insert", "update", "select", "shutdown", "exec", "execute", "declare",
        "create", "alter", "truncate", "waitfor", "grant",
    ]

    /// Where the injection starts in `value`, or nil when the value is not one.
    static func detect(_ value: [UInt8]) -> Int? {
        guard value.contains(where: isSyntaxByte) else {
            // No SQL punctuation: only `union select`, or a numeric value continued (`1 or true`), can hurt.
            if let first = value.first, ASCII.isDigit(first) {
                let tokens = fold(SQLTokenizer.tokenize(value, context: .bare))
                if let index = injection(tokens, value, bare: true) { return tokens[index].range.lowerBound }
            }
            return PhraseMatcher.unionSelect.firstMatch(in: value).map(\.range.lowerBound)
        }
        if let found = detectWithoutRetry(value) { return found }
        if let stripped = WAFTransformation.removeComments.apply(value) {
            return detectWithoutRetry(stripped).map { _ in 0 }
        }
        return nil
    }

    private static func detectWithoutRetry(_ value: [UInt8]) -> Int? {
        for context in SQLTokenizer.Context.allCases {
            switch context {
            case .singleQuoted where !value.contains(0x27), .doubleQuoted where !value.contains(0x22): continue
            default: break
            }
            let tokens = fold(SQLTokenizer.tokenize(value, context: context))
            if let index = injection(tokens, value, bare: context == .bare) {
                return tokens[index].range.lowerBound
            }
        }
        return nil
    }

    @inline(__always) private static func isSyntaxByte(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x27, 0x22, 0x60, 0x3B, 0x28, 0x29, 0x3D, 0x3C, 0x3E, 0x7C, 0x26, 0x23, 0x2F, 0x2A, 0x40, 0x2B, 0x2C: true
        case 0x2D: true
        default: false
        }
    }

    /// Block comments in the middle are whitespace to a database; unary signs before numbers change
    /// nothing; `is not null` compares as `is null` does.
    static func fold(_ tokens: [SQLToken]) -> [SQLToken] {
        var folded: [SQLToken] = []
        folded.reserveCapacity(tokens.count)
        for (index, token) in tokens.enumerated() {
            if token.kind == .comment, index < tokens.count - 1 { continue }
            // (Only before a literal: "login is not working" stays prose.)
            if token.kind == .operator, token.word == "not", folded.last.map({ $0.kind == .operator && $0.word == "is" }) == true,
               index + 1 < tokens.count, ["null", "true", "false"].contains(tokens[index + 1].word) {
                continue
            }
            if token.kind == .operator, token.range.count == 1, index + 1 < tokens.count, tokens[index + 1].kind == .number,
               folded.last.map({ [.operator, .logic, .leftParen, .comma].contains($0.kind) }) ?? true {
                continue
            }
            folded.append(token)
        }
        return folded
    }

    /// The index of the token where an injection shape starts, or nil.
    static func injection(_ tokens: [SQLToken], _ input: [UInt8], bare: Bool) -> Int? {
        if let index = anywhere(tokens, input) { return index }
        guard let first = tokens.first else { return nil }
        if bare {
            guard [.number, .bareword, .variable, .string].contains(first.kind) else { return nil }
        } else {
            guard first.kind == .string, first.closed else { return nil }
        }
        return afterValue(tokens, from: 1, input: input, bare: bare, value: first) ? 0 : nil
    }

    /// Shapes that are injections wherever they appear.
    private static func anywhere(_ tokens: [SQLToken], _ input: [UInt8]) -> Int? {
        for (index, token) in tokens.enumerated() {
            let next = index + 1 < tokens.count ? tokens[index + 1] : nil
            switch token.kind {
            case .union:
                // (`union (select …`; not "European Union (EU)")
                if let next, ["select", "all", "distinct", "distinctrow"].contains(next.word)
                    || (next.kind == .leftParen && index + 2 < tokens.count && (tokens[index + 2].word == "select" || tokens[index + 2].kind == .leftParen)) {
                    return index
                }
            case .function:
                if dangerousFunctions.contains(token.word), isCall(tokens, at: index) { return index }
            case .keyword:
                if token.word == "waitfor", next?.word == "delay" { return index }
                if token.word == "into", let next, ["outfile", "dumpfile"].contains(next.word) { return index }
                if token.word == "having", index + 3 < tokens.count, isValue(tokens[index + 1].kind),
                   tokens[index + 2].kind == .operator, compares(tokens[index + 2], input), isValue(tokens[index + 3].kind) { return index }
                if token.word == "from", next?.word.hasPrefix("information_schema") == true { return index }
            case .semicolon:
                if stacked(tokens, after: index) { return index }
            default:
                continue
            }
        }
        return nil
    }

    /// Whether a statement starts after the semicolon at `index`: `; drop table`, `; select *`, …
    private static func stacked(_ tokens: [SQLToken], after index: Int) -> Bool {
        guard index + 1 < tokens.count else { return false }
        let start = tokens[index + 1]
        let second = index + 2 < tokens.count ? tokens[index + 2] : nil
        let third = index + 3 < tokens.count ? tokens[index + 3] : nil
        // `; copy users to program 'id'`, `; copy users from '/etc/passwd'` (not "; copy it to my colleague")
        if start.word == "copy", second?.kind == .bareword, ["to", "from"].contains(third?.word ?? ""), index + 4 < tokens.count {
            let fourth = tokens[index + 4]
            return fourth.kind == .string || ["program", "stdout", "stdin"].contains(fourth.word)
        }
        guard start.kind == .keyword || start.kind == .function, statementStarts.contains(start.word) else { return false }
        switch start.word {
        case "drop": return ["table", "database"].contains(second?.word ?? "")
        case "delete":
            // `; delete from users--` (not "; delete from mailing list please")
            guard second?.word == "from", third?.kind == .bareword else { return false }
            let after = index + 4 < tokens.count ? tokens[index + 4] : nil
            return after == nil || after?.kind == .comment || after?.kind == .semicolon || after?.word == "where"
        case "insert": return second?.word == "into"
        case "update": return second?.kind == .bareword && third?.word == "set"
        case "select":
            guard let second else { return false }
            // `; select 1--`, `; select 1,2` (not "; select 5 seats")
            if second.kind == .number {
                return third == nil || [.comment, .semicolon, .comma].contains(third!.kind) || ["from", "union"].contains(third!.word)
            }
            return [.function, .variable, .string, .operator].contains(second.kind)
        case "shutdown": return second == nil || second?.kind == .comment || second?.kind == .semicolon
        case "exec", "execute":
            guard let word = second?.word else { return false }
            return word.hasPrefix("xp_") || word.hasPrefix("sp_") || word.hasPrefix("master") || word.hasPrefix("(")
        case "declare": return second?.kind == .variable
        case "waitfor": return second?.word == "delay"
        case "truncate":
            // `; truncate table x`, `; truncate users--` (not "; truncate it")
            return second?.word == "table" || (second?.kind == .bareword && (third?.kind == .comment || third?.kind == .semicolon))
        case "create": return ["table", "database", "user", "function", "procedure", "trigger", "view", "role", "index", "schema"].contains(second?.word ?? "")
        case "alter": return ["table", "user", "database", "role", "system", "schema", "login"].contains(second?.word ?? "")
        case "grant":
            // `; grant all on *.* to …` (not "; grant all permissions to Sarah")
            return tokens[(index + 2)...].prefix(6).contains { $0.word == "on" }
        default: return second?.kind == .keyword
        }
    }

    /// Whether the tokens from `start`, following a value, continue it as SQL (`' or 1=1`, `') --`).
    private static func afterValue(_ tokens: [SQLToken], from start: Int, input: [UInt8], bare: Bool, value: SQLToken) -> Bool {
        var index = start
        var closedParens = 0
        while index < tokens.count, tokens[index].kind == .rightParen {
            index += 1
            closedParens += 1
        }
        guard index < tokens.count else { return false }
        let first = tokens[index]
        // `or not …` reads like `or …`; `or ((…` like `or (…`.
        var next = index + 1
        if first.kind == .logic {
            if next < tokens.count, tokens[next].kind == .operator, tokens[next].word == "not" { next += 1 }
            while next + 1 < tokens.count, tokens[next].kind == .leftParen, tokens[next + 1].kind == .leftParen { next += 1 }
        }
        let second = next < tokens.count ? tokens[next] : nil
        let third = next + 1 < tokens.count ? tokens[next + 1] : nil
        let fourth = next + 2 < tokens.count ? tokens[next + 2] : nil
        switch first.kind {
        case .logic:
            guard let second else { return false }
            // `1 or true`: a number, then a boolean literal.
            if bare, value.kind == .number, ASCII.isDigit(input[value.range.lowerBound]), ["true", "false"].contains(second.word) { return true }
            switch second.kind {
            case .function: return isCall(tokens, at: next)
            case .leftParen: return third.map { isValue($0.kind) || $0.word == "select" } ?? false
            case .number, .string, .variable, .bareword:
                guard let third else { return !bare && second.kind == .string && !second.closed }
                switch third.kind {
                case .operator:
                    guard let fourth else { return false }
                    // A bare "email or password is wrong - …", "Mac or Windows - which …" is prose.
                    if bare, !compares(third, input) || (!third.word.isEmpty && fourth.kind == .bareword) { return false }
                    return isValue(fourth.kind) || fourth.kind == .leftParen
                case .comment, .semicolon: return second.kind != .bareword || !bare
                case .logic: return !bare && second.kind != .bareword
                default: return false
                }
            default: return false
            }
        case .operator:
            guard let second, isValue(second.kind) || second.kind == .leftParen else { return false }
            // `1-(select …)`: a subquery after any operator.
            if second.kind == .leftParen { return !bare || third?.word == "select" }
            // Otherwise a bare value goes on as SQL with a comparison; arithmetic and `:` are prose
            // as well ("20% off; code …", "555-1234 -- call back", "ID: 4471; …") unless what
            // follows the arithmetic goes on as SQL (`1-0 or 1=1`).
            if bare, first.word.isEmpty, !isComparison(input[first.range]) {
                return afterValue(tokens, from: next + 1, input: input, bare: bare, value: second)
            }
            // "Checkout in Safari -- blank page", "Status is pending -- …": a word operator between words.
            if bare, !first.word.isEmpty, second.kind == .bareword { return false }
            guard let third else { return !bare && second.kind == .string && !second.closed }
            switch third.kind {
            case .comment, .union: return true
            // `x=y;` stacks nothing by itself (a statement after it is found on its own).
            case .semicolon: return !bare
            case .logic: return afterValue(tokens, from: next + 1, input: input, bare: bare, value: second)
            default: return false
            }
        case .semicolon:
            // `'; --`, and `'; select password from users`, `'; truncate users`: the quote broke
            // out and a statement follows it.
            guard !bare, let second else { return false }
            return second.kind == .comment || stacked(tokens, after: index) || breakoutStatement(tokens, after: index)
        case .union:
            // `' union distinctrow select`, `' union table users`, `' union values (…)`
            guard !bare, let second else { return false }
            if second.word == "table" {
                // `' union table users--` (not "Workers' union table is wrong")
                guard third?.kind == .bareword else { return false }
                let after = next + 2 < tokens.count ? tokens[next + 2] : nil
                return after == nil || [.comment, .semicolon, .rightParen].contains(after!.kind)
            }
            return second.kind == .leftParen || ["select", "all", "distinct", "distinctrow", "values"].contains(second.word)
        case .comment:
            if closedParens > 0 { return true }
            guard !bare, value.kind == .string, !input[value.range].contains(where: ASCII.isSpace), value.range.count <= 40 else { return false }
            // `admin'--`, `admin'#`, `admin'-- -`, `admin'--+`: nothing after the comment marker.
            let body = commentBody(first, input)
            return body.isEmpty || (body.count == 1 && (body.first == 0x2D || body.first == 0x2B))
        case .keyword:
            if ["order", "group"].contains(first.word), second?.word == "by", let third, third.kind == .number || third.kind == .bareword {
                return fourth == nil || fourth?.kind == .comment
            }
            return false
        default:
            return false
        }
    }

    /// Statements after a quote broken out of and a `;` (`'; select password from users--`) in
    /// shapes looser than ``stacked(_:after:)`` asks of a `;` anywhere, still not prose's
    /// ("5'; select size 11 please", "27\"; select a smaller one").
    private static func breakoutStatement(_ tokens: [SQLToken], after index: Int) -> Bool {
        guard index + 2 < tokens.count else { return false }
        let (start, second) = (tokens[index + 1], tokens[index + 2])
        let third = index + 3 < tokens.count ? tokens[index + 3] : nil
        switch start.word {
        case "select": return [.bareword, .function, .variable].contains(second.kind) && (third?.word == "from" || third?.kind == .comment)
        case "alter": return ["table", "user", "database", "role", "system", "schema", "login"].contains(second.word)
        case "truncate": return second.kind == .bareword && (third == nil || third?.kind == .comment)
        default: return false
        }
    }

    /// Whether the function at `index` reads as a call: its `(` right after its name, or an
    /// argument only SQL would give it (`sleep (5)`, `ascii (substring(…))`), not a word
    /// ("Sleep (mode) not working", "Login and checkout (mobile) broken").
    private static func isCall(_ tokens: [SQLToken], at index: Int) -> Bool {
        guard index + 1 < tokens.count else { return false }
        if tokens[index].range.upperBound == tokens[index + 1].range.lowerBound { return true }
        guard index + 2 < tokens.count else { return false }
        let argument = tokens[index + 2]
        return [.number, .string, .variable, .leftParen, .function, .rightParen].contains(argument.kind) || argument.word == "select"
    }

    /// Whether an operator token compares (`=`, `<`, `like`, `in`, `is`, …), as opposed to arithmetic or `:`.
    private static func compares(_ token: SQLToken, _ input: [UInt8]) -> Bool {
        !token.word.isEmpty || isComparison(input[token.range])
    }

    /// Whether an operator's bytes compare (`=`, `<`, `>`, `!=`, `<>`, `<=`, `>=`, `<=>`).
    @inline(__always) private static func isComparison(_ bytes: ArraySlice<UInt8>) -> Bool {
        bytes.allSatisfy { $0 == 0x3D || $0 == 0x3C || $0 == 0x3E || $0 == 0x21 } && bytes != [0x21]
    }

    @inline(__always) private static func isValue(_ kind: SQLToken.Kind) -> Bool {
        kind == .number || kind == .string || kind == .bareword || kind == .variable || kind == .function
    }

    /// The text of a comment after its marker, trimmed.
    private static func commentBody(_ token: SQLToken, _ input: [UInt8]) -> ArraySlice<UInt8> {
        var body = input[token.range]
        body = body.dropFirst(body.first == 0x23 ? 1 : 2)
        if body.last == 0x2F, body.dropLast().last == 0x2A { body = body.dropLast(2) }
        while let last = body.last, ASCII.isSpace(last) { body = body.dropLast() }
        while let first = body.first, ASCII.isSpace(first) { body = body.dropFirst() }
        return body
    }
}

extension PhraseMatcher {
    /// `union` and `select` next to each other, for values with no SQL punctuation.
    static let unionSelect = PhraseMatcher(["union select", "union all select", "union distinct select", "union distinctrow select"])
}
