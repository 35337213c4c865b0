/// A small HTML tokenizer for the sanitizer: text, start tags with attributes, end tags.
/// It reads Unicode scalars, not characters, so a combining mark can never hide a `<`, `>` or
/// quote. Comments, doctypes, processing instructions and CDATA sections are skipped; a tag cut
/// off by the end of the input is dropped, as a browser drops it.
struct HTMLTokenizer {
    enum Token {
        case text(String)
        case startTag(name: String, attributes: [(name: String, value: String)])
        case endTag(name: String)
    }

    private let input: [Unicode.Scalar]
    private var index = 0

    init(_ html: String) {
        input = Array(html.unicodeScalars)
    }

    mutating func next() -> Token? {
        while index < input.count {
            guard input[index] == "<" else {
                let end = firstIndex(of: "<", from: index) ?? input.count
                defer { index = end }
                return .text(string(index..<end))
            }
            let after = index + 1
            guard after < input.count else {
                index = after
                return .text("<")
            }
            let character = input[after]
            if character == "!" {
                if hasPrefix("!--", at: after) {
                    index = firstIndex(of: ["-", "-", ">"], from: after + 3).map { $0 + 3 } ?? input.count
                } else {
                    skipPast(">")
                }
            } else if character == "?" {
                skipPast(">")
            } else if character == "/" {
                guard after + 1 < input.count, Self.isLetter(input[after + 1]) else {
                    skipPast(">")
                    continue
                }
                let name = readName(from: after + 1)
                guard let close = firstIndex(of: ">", from: index) else {
                    index = input.count
                    return nil
                }
                index = close + 1
                return .endTag(name: name)
            } else if Self.isLetter(character) {
                let name = readName(from: after)
                guard let tag = readAttributes(name: name) else {
                    index = input.count
                    return nil
                }
                return tag
            } else {
                index = after
                return .text("<")
            }
        }
        return nil
    }

    /// Skips a raw-text element's content up to and including its end tag.
    mutating func skipContent(of name: String) {
        let target = Array(name.unicodeScalars)
        var search = index
        while let found = firstIndex(of: ["<", "/"], from: search) {
            let nameStart = found + 2
            let nameEnd = nameStart + target.count
            if nameEnd <= input.count, input[nameStart..<nameEnd].map(Self.lowercased) == target,
               nameEnd == input.count || Self.isSpace(input[nameEnd]) || input[nameEnd] == "/" || input[nameEnd] == ">" {
                index = firstIndex(of: ">", from: nameEnd).map { $0 + 1 } ?? input.count
                return
            }
            search = found + 2
        }
        index = input.count
    }

    private func string(_ range: Range<Int>) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: input[range])
        return String(view)
    }

    private func firstIndex(of scalar: Unicode.Scalar, from start: Int) -> Int? {
        var position = start
        while position < input.count {
            if input[position] == scalar { return position }
            position += 1
        }
        return nil
    }

    private func firstIndex(of sequence: [Unicode.Scalar], from start: Int) -> Int? {
        var position = start
        while position + sequence.count <= input.count {
            if input[position] == sequence[0], Array(input[position..<position + sequence.count]) == sequence { return position }
            position += 1
        }
        return nil
    }

    private func hasPrefix(_ prefix: String, at position: Int) -> Bool {
        let scalars = Array(prefix.unicodeScalars)
        return position + scalars.count <= input.count && Array(input[position..<position + scalars.count]) == scalars
    }

    private mutating func skipPast(_ scalar: Unicode.Scalar) {
        index = firstIndex(of: scalar, from: index).map { $0 + 1 } ?? input.count
    }

    /// A tag name, lowercased; ends at whitespace, `/` or `>`.
    private mutating func readName(from start: Int) -> String {
        var end = start
        while end < input.count, !Self.isSpace(input[end]), input[end] != "/", input[end] != ">" { end += 1 }
        index = end
        return string(start..<end).lowercased()
    }

    /// The attributes up to the tag's `>`; nil when the input ends first.
    private mutating func readAttributes(name: String) -> Token? {
        var attributes: [(name: String, value: String)] = []
        while index < input.count {
            let character = input[index]
            if character == ">" {
                index += 1
                return .startTag(name: name, attributes: attributes)
            }
            if Self.isSpace(character) || character == "/" {
                index += 1
                continue
            }
            var end = index + 1
            while end < input.count, !Self.isSpace(input[end]), input[end] != "/", input[end] != ">", input[end] != "=" { end += 1 }
            let attributeName = string(index..<end).lowercased()
            index = end
            skipSpaces()
            var value = ""
            if index < input.count, input[index] == "=" {
                index += 1
                skipSpaces()
                guard index < input.count else { return nil }
                let quote = input[index]
                if quote == "\"" || quote == "'" {
                    guard let close = firstIndex(of: quote, from: index + 1) else { return nil }
                    value = HTMLEntities.decode(string(index + 1..<close))
                    index = close + 1
                } else {
                    var end = index
                    while end < input.count, !Self.isSpace(input[end]), input[end] != ">" { end += 1 }
                    value = HTMLEntities.decode(string(index..<end))
                    index = end
                }
            }
            attributes.append((attributeName, value))
        }
        return nil
    }

    private mutating func skipSpaces() {
        while index < input.count, Self.isSpace(input[index]) { index += 1 }
    }

    static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        scalar == " " || scalar == "\t" || scalar == "\n" || scalar == "\r" || scalar == "\u{0C}"
    }

    static func isLetter(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar)
    }

    static func lowercased(_ scalar: Unicode.Scalar) -> Unicode.Scalar {
        ("A"..."Z").contains(scalar) ? Unicode.Scalar(UInt8(scalar.value + 32)) : scalar
    }
}
