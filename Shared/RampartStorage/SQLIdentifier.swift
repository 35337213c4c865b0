/// A PostgreSQL identifier (schema, role, database) checked to be safe to splice into DDL,
/// where bind parameters are not allowed.
public struct SQLIdentifier: Sendable, Hashable, CustomStringConvertible {
    public let name: String

    /// Accepts `[a-z_][a-z0-9_]{0,62}` only.
    public init?(_ name: String) {
        guard (1...63).contains(name.utf8.count),
              let first = name.utf8.first,
              first == UInt8(ascii: "_") || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first),
              name.utf8.allSatisfy({ $0 == UInt8(ascii: "_") || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
        else { return nil }
        self.name = name
    }

    /// The identifier double-quoted for SQL text.
    public var quoted: String { "\"\(name)\"" }

    public var description: String { name }

    /// `text` as a SQL string literal (for DDL that takes no binds, such as passwords).
    public static func literal(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
    }
}
