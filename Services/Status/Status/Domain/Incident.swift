import Foundation

/// An incident (unplanned) or a scheduled maintenance window: the same record in Statuspage's
/// model, told apart by `kind`. Every instance holds a copy; `revision` orders the copies.
public struct Incident: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable { case incident, maintenance }

    /// Statuspage's statuses: the first four for incidents, the last four for maintenance.
    public enum Status: String, Codable, Sendable, CaseIterable {
        case investigating, identified, monitoring, resolved
        case scheduled
        case inProgress = "in_progress"
        case verifying, completed

        public var kind: Kind {
            switch self {
            case .investigating, .identified, .monitoring, .resolved: .incident
            case .scheduled, .inProgress, .verifying, .completed: .maintenance
            }
        }

        /// Position in its lifecycle; a status never moves to a lower one.
        var step: Int {
            switch self {
            case .investigating, .scheduled: 0
            case .identified, .inProgress: 1
            case .monitoring, .verifying: 2
            case .resolved, .completed: 3
            }
        }

        /// Whether the incident or window is over.
        public var isClosed: Bool { self == .resolved || self == .completed }

        public var label: String {
            switch self {
            case .inProgress: "In progress"
            default: rawValue.prefix(1).uppercased() + rawValue.dropFirst()
            }
        }
    }

    /// Statuspage's impact levels; maintenance windows carry `maintenance`.
    public enum Impact: String, Codable, Sendable, CaseIterable, Comparable {
        case none, minor, major, critical, maintenance

        var rank: Int {
            switch self {
            case .none, .maintenance: 0
            case .minor: 1
            case .major: 2
            case .critical: 3
            }
        }

        public static func < (lhs: Impact, rhs: Impact) -> Bool { lhs.rank < rhs.rank }
    }

    /// One entry of the incident's history; entries are only ever added.
    public struct Update: Codable, Sendable, Equatable {
        public var id: UUID
        public var status: Status
        public var body: String
        public var componentIDs: [String]
        /// The operator who wrote it (from their certificate).
        public var author: String
        public var createdAt: Date

        enum CodingKeys: String, CodingKey {
            case id, status, body, author
            case componentIDs = "component_ids"
            case createdAt = "created_at"
        }
    }

    public var id: UUID
    public var kind: Kind
    public var name: String
    public var status: Status
    public var impact: Impact
    /// A security incident: labelled as such on the page and in the feeds.
    public var security: Bool
    public var componentIDs: [String]
    public var scheduledFor: Date?
    public var scheduledUntil: Date?
    public var createdAt: Date
    public var updatedAt: Date
    public var monitoringAt: Date?
    public var resolvedAt: Date?
    /// Raised by one on every change; the highest revision wins when copies meet.
    public var revision: Int
    /// The region whose instance took the operator's write.
    public var originRegion: String
    /// Newest first.
    public var updates: [Update]

    enum CodingKeys: String, CodingKey {
        case id, kind, name, status, impact, security, revision, updates
        case componentIDs = "component_ids"
        case scheduledFor = "scheduled_for"
        case scheduledUntil = "scheduled_until"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case monitoringAt = "monitoring_at"
        case resolvedAt = "resolved_at"
        case originRegion = "origin_region"
    }

    /// The status shown at `now`: a maintenance window starts and ends on its schedule unless
    /// an operator moved it on first.
    public func effectiveStatus(at now: Date) -> Status {
        guard kind == .maintenance, !status.isClosed, let start = scheduledFor, let end = scheduledUntil else { return status }
        if now >= end { return .completed }
        if status == .scheduled, now >= start { return .inProgress }
        return status
    }

    /// Whether this copy should replace `other` (same id): higher revision, then later change,
    /// then origin region name, so every instance picks the same one.
    public func supersedes(_ other: Incident) -> Bool {
        (revision, updatedAt, originRegion) > (other.revision, other.updatedAt, other.originRegion)
    }
}
