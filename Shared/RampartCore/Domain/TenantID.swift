import Foundation

/// A tenant's stable identifier; row-level security compares every tenant row against it.
public struct TenantID: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: UUID

    public init(rawValue: UUID) { self.rawValue = rawValue }

    /// Parses the canonical text form; `nil` for anything that is not a UUID.
    public init?(_ text: String) {
        guard let uuid = UUID(uuidString: text) else { return nil }
        self.rawValue = uuid
    }

    /// A new random identifier.
    public static func random() -> TenantID { TenantID(rawValue: UUID()) }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(UUID.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    /// Lowercase canonical text, the form stored in PostgreSQL settings.
    public var description: String { rawValue.uuidString.lowercased() }
}
