import Foundation

/// The words a text is found by: lowercased, accents folded (é → e, ß stays ß), split on
/// anything that is not a letter or digit, 2 to 64 characters each, each once.
enum SearchTerms {
    /// At most this many distinct words per text are indexed; the rest is not searchable.
    static let maximumWords = 2000

    static func words(in text: String) -> [String] {
        let folded = text.folding(options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive], locale: Locale(identifier: "en_US_POSIX"))
        var seen: Set<String> = []
        var words: [String] = []
        var current = ""
        func flush() {
            if (2...64).contains(current.count), seen.insert(current).inserted, words.count < maximumWords { words.append(current) }
            current = ""
        }
        for character in folded {
            if character.isLetter || character.isNumber { current.append(character) } else { flush() }
        }
        flush()
        return words
    }
}
