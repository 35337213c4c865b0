/// The platform's services; each owns its schema and listens on its own internal address.
public enum ServiceName: String, CaseIterable, Sendable, Codable, CustomStringConvertible {
    case gateway
    case identity
    case tickets
    case audit
    case backup
    case status

    /// The executable's name, as operators see it in process lists and logs.
    public var executableName: String { "rampart-\(rawValue)" }

    /// Whether the service owns a schema in its region's database.
    public var ownsSchema: Bool { self != .gateway }

    /// Whether the service writes audit events to an `outbox_events` table that a relay drains.
    public var hasOutbox: Bool { self == .identity || self == .tickets || self == .backup }

    public var description: String { rawValue }
}
