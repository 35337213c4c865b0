import Foundation

/// The bundled list of the 30,000 most common passwords (see `Resources/common-passwords.txt`).
public struct CommonPasswords: Sendable {
    private let entries: Set<String>

    public init(entries: Set<String>) {
        self.entries = entries
    }

    /// The list shipped with identity.
    public static let bundled: CommonPasswords = {
        guard let url = Bundle.module.url(forResource: "common-passwords", withExtension: "txt"),
              let text = try? String(contentsOf: url, encoding: .utf8)
        else { return CommonPasswords(entries: []) }
        let entries = text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { String($0) }
        return CommonPasswords(entries: Set(entries))
    }()

    public var count: Int { entries.count }

    /// Whether `password` is common, or a common one dressed up the usual ways: case changes,
    /// digits or symbols around it, the common letter-for-digit swaps, a common word repeated,
    /// or a keyboard-style run such as `1234567890123` or `abcdefghijkl`.
    public func contains(_ password: String) -> Bool {
        let lowered = password.lowercased()
        if entries.contains(lowered) { return true }
        if Self.isRun(lowered) { return true }
        let words = Set(lowered.split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map(String.init))
        if words.count == 1, let word = words.first, entries.contains(word) || Self.isRun(word) { return true }
        let core = lowered.trimmingCharacters(in: CharacterSet.letters.inverted)
        if core.count >= 4 && entries.contains(core) { return true }
        let unswapped = String(lowered.map { Self.swaps[$0] ?? $0 })
        let unswappedCore = unswapped.trimmingCharacters(in: CharacterSet.letters.inverted)
        return entries.contains(unswapped) || (unswappedCore.count >= 4 && entries.contains(unswappedCore))
    }

    /// Whether the characters step by one (up or down) from each to the next, or repeat one.
    static func isRun(_ text: String) -> Bool {
        let values = text.unicodeScalars.map { Int($0.value) }
        guard values.count >= 4 else { return false }
        let steps = zip(values, values.dropFirst()).map { $1 - $0 }
        let ascending = steps.filter { $0 == 1 || $0 == -9 }.count
        let descending = steps.filter { $0 == -1 || $0 == 9 }.count
        let repeating = steps.filter { $0 == 0 }.count
        return max(ascending, descending, repeating) * 10 >= steps.count * 8
    }

    private static let swaps: [Character: Character] = ["0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"]
}
