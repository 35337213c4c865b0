import Foundation
import RampartCore
import RampartSecurity

/// One event as a tenant admin reads it: the chained record with its personal part opened, or
/// marked `erased` when the tenant's key was destroyed.
public struct EventView: Codable, Sendable, Equatable {
    public var seq: Int64
    public var id: UUID
    public var occurredAt: String
    public var receivedAt: String
    public var service: String
    public var actor: AuditEvent.Actor
    public var action: String
    public var resource: AuditEvent.Resource
    public var changes: [String: [String?]]?
    public var outcome: String
    public var requestID: String?
    public var source: String
    /// `available`, `erased` (the tenant key was destroyed) or `none` (the event had none).
    public var personalData: String

    enum CodingKeys: String, CodingKey {
        case seq, id, service, actor, action, resource, changes, outcome, source
        case occurredAt = "occurred_at"
        case receivedAt = "received_at"
        case requestID = "request_id"
        case personalData = "personal_data"
    }

    init(record: AuditRecord, personal: PersonalData?, erased: Bool) {
        seq = record.seq
        id = record.id
        occurredAt = record.occurredAt
        receivedAt = record.receivedAt
        service = record.service
        actor = AuditEvent.Actor(type: record.actor.type, id: record.actor.id, displayName: personal?.displayName, ip: personal?.ip,
                                 userAgent: personal?.userAgent, sessionID: record.actor.sessionID, authenticationMethod: record.actor.authenticationMethod)
        action = record.action
        resource = AuditEvent.Resource(type: record.resource.type, id: record.resource.id, label: personal?.label)
        changes = personal?.changes
        outcome = record.outcome
        requestID = record.requestID
        source = record.source
        personalData = record.personal == nil ? "none" : (erased ? "erased" : "available")
    }

    /// CSV columns, in order.
    static let csvHeader = "seq,id,occurred_at,received_at,service,actor_type,actor_id,actor_name,actor_ip,action,resource_type,resource_id,resource_label,outcome,request_id,source,changes"

    /// The event as one CSV line (RFC 4180 quoting; cells that a spreadsheet would run as a
    /// formula are prefixed with `'`).
    var csvLine: String {
        let changesText = changes.flatMap { try? String(decoding: JSONSerialization.data(withJSONObject: $0.mapValues { $0.map { $0 ?? NSNull() as Any } }, options: .sortedKeys), as: UTF8.self) }
        let cells: [String?] = [String(seq), id.uuidString.lowercased(), occurredAt, receivedAt, service, actor.type, actor.id, actor.displayName, actor.ip,
                                action, resource.type, resource.id, resource.label, outcome, requestID, source, changesText]
        return cells.map { Self.csvCell($0 ?? "") }.joined(separator: ",")
    }

    static func csvCell(_ value: String) -> String {
        var text = value
        if let first = text.first, "=+-@\t\r".contains(first) { text = "'" + text }
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
