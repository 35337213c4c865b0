/// Finds payment card numbers in free text and masks them before anything is stored.
///
/// A candidate is a run of digit groups joined by single spaces or dashes, 13–19 digits in all,
/// that passes the Luhn check and starts with a known issuer prefix (Visa, Mastercard, American
/// Express, Discover, JCB, Diners Club, UnionPay, Maestro). Groups are never split, and a
/// candidate touching a letter, digit or underscore on either side is left alone (it is part of
/// a longer number or a word: an order id, a hash, a tracking code). Masked digits become `*`;
/// separators stay where they were.
struct CardRedactor: Sendable {
    /// Digits kept at the start (at most 6) and at the end (at most 4), per tenant.
    var keepFirst: Int = 6
    var keepLast: Int = 4

    /// `text` with every card number masked, and how many were found.
    func redact(_ text: String) -> (text: String, count: Int) {
        var scalars = Array(text.unicodeScalars)
        var count = 0
        var index = 0
        while index < scalars.count {
            guard Self.isDigit(scalars[index]), index == 0 || !Self.isWordCharacter(scalars[index - 1]) else {
                index += 1
                continue
            }
            let groups = Self.groups(in: scalars, from: index)
            let end = groups.last?.upperBound ?? index
            if end < scalars.count, Self.isWordCharacter(scalars[end]) {
                index = end
                continue
            }
            if let span = Self.cardSpan(groups, in: scalars) {
                mask(&scalars, span)
                count += 1
            }
            index = max(end, index + 1)
        }
        guard count > 0 else { return (text, 0) }
        var result = String.UnicodeScalarView()
        result.append(contentsOf: scalars)
        return (String(result), count)
    }

    /// The digit groups starting at `start`, joined by exactly one space or dash.
    private static func groups(in scalars: [Unicode.Scalar], from start: Int) -> [Range<Int>] {
        var groups: [Range<Int>] = []
        var position = start
        while position < scalars.count, isDigit(scalars[position]) {
            var end = position
            while end < scalars.count, isDigit(scalars[end]) { end += 1 }
            groups.append(position..<end)
            guard end + 1 < scalars.count, scalars[end] == " " || scalars[end] == "-", isDigit(scalars[end + 1]) else { break }
            position = end + 1
        }
        return groups
    }

    /// The longest run of whole groups that is a card number. A run that does not start at the
    /// first group or end at the last is bounded by a separator, so it stands alone.
    private static func cardSpan(_ groups: [Range<Int>], in scalars: [Unicode.Scalar]) -> Range<Int>? {
        var best: Range<Int>?
        for first in groups.indices {
            var digits: [UInt8] = []
            for last in first..<groups.count {
                digits += scalars[groups[last]].map { UInt8($0.value - 48) }
                guard digits.count <= 19 else { break }
                if digits.count >= 13, isCardNumber(digits) {
                    let span = groups[first].lowerBound..<groups[last].upperBound
                    if span.count > (best?.count ?? 0) { best = span }
                }
            }
        }
        return best
    }

    /// Masks the digits of `span` except the first `keepFirst` and last `keepLast`.
    private func mask(_ scalars: inout [Unicode.Scalar], _ span: Range<Int>) {
        let positions = span.filter { Self.isDigit(scalars[$0]) }
        for (offset, position) in positions.enumerated() where offset >= keepFirst && offset < positions.count - keepLast {
            scalars[position] = "*"
        }
    }

    /// Luhn-valid with a known issuer prefix and a length that issuer uses.
    static func isCardNumber(_ digits: [UInt8]) -> Bool {
        luhn(digits) && knownIssuer(digits)
    }

    static func luhn(_ digits: [UInt8]) -> Bool {
        var sum = 0
        for (offset, digit) in digits.reversed().enumerated() {
            var value = Int(digit)
            if offset % 2 == 1 {
                value *= 2
                if value > 9 { value -= 9 }
            }
            sum += value
        }
        return sum % 10 == 0
    }

    static func knownIssuer(_ digits: [UInt8]) -> Bool {
        let length = digits.count
        func prefix(_ count: Int) -> Int { digits.prefix(count).reduce(0) { $0 * 10 + Int($1) } }
        let p1 = prefix(1), p2 = prefix(2), p3 = prefix(3), p4 = prefix(4), p6 = prefix(6)
        if p1 == 4 { return [13, 16, 19].contains(length) }                                  // Visa
        if (51...55).contains(p2) || (2221...2720).contains(p4) { return length == 16 }      // Mastercard
        if p2 == 34 || p2 == 37 { return length == 15 }                                      // American Express
        if p4 == 6011 || (644...649).contains(p3) || p2 == 65 || (622126...622925).contains(p6) {
            return (16...19).contains(length)                                                // Discover
        }
        if (3528...3589).contains(p4) { return (16...19).contains(length) }                  // JCB
        if (300...305).contains(p3) || p2 == 36 || p2 == 38 || p2 == 39 {
            return (14...19).contains(length)                                                // Diners Club
        }
        if p2 == 62 { return (16...19).contains(length) }                                    // UnionPay
        if p2 == 50 || (56...69).contains(p2) { return (13...19).contains(length) }          // Maestro
        return false
    }

    static func isDigit(_ scalar: Unicode.Scalar) -> Bool { ("0"..."9").contains(scalar) }

    /// Letters and digits of any script, and `_`: what makes a digit run part of something longer.
    static func isWordCharacter(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "_" || scalar.properties.isAlphabetic || scalar.properties.numericType != nil
    }
}
