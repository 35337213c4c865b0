/// A token of SQL as an injected value would be read by a database.
struct SQLToken: Equatable {
    /// What the token is; its raw value is the fingerprint letter (as in libinjection).
    enum Kind: UInt8 {
        case string = 0x73 // s
        case number = 0x31 // 1
        case keyword = 0x6B // k
        case union = 0x55 // U
        case function = 0x66 // f
        case logic = 0x26 // & (and, or, xor, &&, ||)
        case `operator` = 0x6F // o
        case comment = 0x63 // c
        case leftParen = 0x28
        case rightParen = 0x29
        case comma = 0x2C
        case semicolon = 0x3B
        case bareword = 0x6E // n
        case variable = 0x76 // v
        case unknown = 0x3F // ?
    }

    var kind: Kind
    /// The token's bytes in the input (for strings, without the quotes).
    var range: Range<Int>
    /// For words, the lowercased word; empty otherwise.
    var word: String = ""
    /// For strings, whether a closing quote was found.
    var closed = true
}
