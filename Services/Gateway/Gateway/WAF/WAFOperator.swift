import Foundation

/// What a rule does with a transformed value: a compiled test that either finds something or not.
enum WAFOperator: Sendable {
    /// A regular expression, run only when one of the prefilter phrases occurs (if any are given).
    case regex(CompiledRegex, prefilter: PhraseMatcher?)
    /// Any of a set of phrases (ASCII case-insensitive).
    case phrases(PhraseMatcher)
    /// The SQL-injection tokenizer.
    case sqlInjection
    /// The XSS detector for values that should be plain text.
    case crossSiteScripting
    /// The HTML-aware check for rich-text fields.
    case executableHTML
    /// A request-level protocol check.
    case protocolCheck(ProtocolCheck, values: Set<String>)

    /// The matched part of `value` (at most 64 characters, control characters escaped), or nil.
    func firstMatch(in value: [UInt8]) -> String? {
        switch self {
        case .regex(let regex, let prefilter):
            if let prefilter, prefilter.firstMatch(in: value) == nil { return nil }
            return regex.firstMatch(in: value).map { Self.fragment($0) }
        case .phrases(let matcher):
            return matcher.firstMatch(in: value).map { Self.fragment(value[$0.range.lowerBound...]) }
        case .sqlInjection:
            return SQLInjectionDetector.detect(value).map { Self.fragment(value[$0...]) }
        case .crossSiteScripting:
            return XSSDetector.detect(value).map { Self.fragment(value[$0...]) }
        case .executableHTML:
            return RichTextInspector.detect(value).map { Self.fragment(value[$0...]) }
        case .protocolCheck:
            return nil
        }
    }

    /// A log-safe fragment: at most 64 characters, control characters as `\xNN`.
    static func fragment(_ bytes: some Collection<UInt8>) -> String {
        fragment(String(decoding: bytes.prefix(WAFMatch.maximumFragmentLength * 4), as: UTF8.self))
    }

    static func fragment(_ text: some StringProtocol) -> String {
        var output = ""
        for scalar in text.unicodeScalars {
            if output.unicodeScalars.count >= WAFMatch.maximumFragmentLength { break }
            if scalar.value < 0x20 || scalar.value == 0x7F {
                output += "\\x" + String(scalar.value, radix: 16, uppercase: true).leftPadded(to: 2)
            } else {
                output.unicodeScalars.append(scalar)
            }
        }
        return String(output.prefix(WAFMatch.maximumFragmentLength))
    }
}

/// A regular expression compiled once when the rules load. `NSRegularExpression` is immutable and
/// safe to use from several threads at once, which is what makes this `Sendable`.
final class CompiledRegex: @unchecked Sendable {
    let pattern: String
    private let expression: NSRegularExpression

    /// Compiles `pattern`; throws when it is not a valid ICU regular expression.
    init(_ pattern: String) throws {
        self.pattern = pattern
        self.expression = try NSRegularExpression(pattern: pattern, options: [])
    }

    /// The first match in `value` (read as UTF-8).
    func firstMatch(in value: [UInt8]) -> Substring? {
        let text = String(decoding: value, as: UTF8.self)
        guard let match = expression.firstMatch(in: text, options: [], range: NSRange(text.startIndex..., in: text)),
              let range = Range(match.range, in: text) else { return nil }
        return text[range]
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
