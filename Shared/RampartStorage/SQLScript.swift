import Foundation

/// Splits SQL text into single statements, since the extended query protocol takes one at a
/// time. Semicolons inside quotes, quoted identifiers, dollar-quoted bodies and comments do not split.
enum SQLScript {
    static func statements(_ text: String) -> [String] {
        var statements: [String] = []
        var current = ""
        var index = text.startIndex
        func peek(_ offset: Int = 0) -> Character? {
            text.index(index, offsetBy: offset, limitedBy: text.endIndex).flatMap { $0 < text.endIndex ? text[$0] : nil }
        }
        while index < text.endIndex {
            let character = text[index]
            if character == "-" && peek(1) == "-" {
                // A line comment runs to the end of the line and is dropped.
                while index < text.endIndex && text[index] != "\n" { index = text.index(after: index) }
                continue
            }
            if character == "/" && peek(1) == "*" {
                guard let end = text.range(of: "*/", range: text.index(index, offsetBy: 2)..<text.endIndex) else { break }
                index = end.upperBound
                continue
            }
            if character == "'" || character == "\"" {
                // Doubled quotes inside are an escaped quote: scanning on handles them naturally.
                current.append(character)
                index = text.index(after: index)
                while index < text.endIndex && text[index] != character {
                    current.append(text[index])
                    index = text.index(after: index)
                }
                if index < text.endIndex {
                    current.append(text[index])
                    index = text.index(after: index)
                }
                continue
            }
            if character == "$", let tagEnd = text[text.index(after: index)...].firstIndex(of: "$"),
               text[text.index(after: index)..<tagEnd].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) {
                let tag = String(text[index...tagEnd])
                let bodyStart = text.index(after: tagEnd)
                let close = text.range(of: tag, range: bodyStart..<text.endIndex)?.upperBound ?? text.endIndex
                current += text[index..<close]
                index = close
                continue
            }
            if character == ";" {
                let statement = current.trimmingCharacters(in: .whitespacesAndNewlines)
                if !statement.isEmpty { statements.append(statement) }
                current = ""
            } else {
                current.append(character)
            }
            index = text.index(after: index)
        }
        let last = current.trimmingCharacters(in: .whitespacesAndNewlines)
        if !last.isEmpty { statements.append(last) }
        return statements
    }
}
