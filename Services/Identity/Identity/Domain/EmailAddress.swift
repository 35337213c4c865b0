import Foundation
import RampartCore

/// An email address, lowercased; checked for shape only (delivery proves the rest).
public struct EmailAddress: ValidatedString {
    public let rawValue: String

    public init?(rawValue: String) {
        let trimmed = rawValue.trimmingCharacters(in: .whitespaces).lowercased()
        let parts = trimmed.split(separator: "@", omittingEmptySubsequences: false)
        guard (3...254).contains(trimmed.utf8.count), parts.count == 2,
              (1...64).contains(parts[0].utf8.count), parts[1].contains("."),
              !parts[1].hasPrefix("."), !parts[1].hasSuffix("."),
              trimmed.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7F && !"<>()[]\\,;:\"".unicodeScalars.contains($0) })
        else { return nil }
        self.rawValue = trimmed
    }
}
