/// A data region (`us`, `eu`, `uk`, …): where a tenant's data lives and never leaves.
public struct Region: ValidatedString {
    public let rawValue: String

    /// Accepts 2–12 lowercase ASCII letters or digits, starting with a letter; `operator` is
    /// reserved (it names operator identities in certificates).
    public init?(rawValue: String) {
        guard rawValue != "operator", (2...12).contains(rawValue.utf8.count),
              let first = rawValue.utf8.first, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first),
              rawValue.utf8.allSatisfy({ (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
        else { return nil }
        self.rawValue = rawValue
    }

    /// The regions a default installation serves.
    public static let defaults: [Region] = ["us", "eu", "uk"].compactMap(Region.init(rawValue:))
}
