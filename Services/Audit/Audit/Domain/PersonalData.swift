import Foundation
import RampartCore
import RampartSecurity

/// The personal part of an event: names, IPs, user agents, resource labels (often e-mail
/// addresses) and changed values. Audit seals it with the tenant's data key before the event is
/// hashed, so destroying the key erases it while the chain stays verifiable.
struct PersonalData: Codable, Sendable, Equatable {
    var displayName: String?
    var ip: String?
    var userAgent: String?
    var label: String?
    var changes: [String: [String?]]?

    init(event: AuditEvent) {
        displayName = event.actor.displayName
        ip = event.actor.ip
        userAgent = event.actor.userAgent
        label = event.resource.label
        changes = event.changes
    }

    var isEmpty: Bool { displayName == nil && ip == nil && userAgent == nil && label == nil && changes == nil }

    /// Where a sealed personal part lives: it opens only for its own event.
    static func sealContext(_ eventID: UUID) -> SealContext {
        SealContext(table: "audit.events", column: "personal", rowID: eventID.uuidString.lowercased())
    }

    enum CodingKeys: String, CodingKey {
        case ip, label, changes
        case displayName = "display_name"
        case userAgent = "user_agent"
    }
}
