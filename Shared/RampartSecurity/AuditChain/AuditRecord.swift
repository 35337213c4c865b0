import Foundation
import RampartCore

/// One stored audit event exactly as it is hashed into its tenant's chain.
///
/// The audit service builds it from an ingested ``AuditEvent``: personal data (names, IPs, user
/// agents, resource labels and changed values) is sealed with the tenant's data key into
/// ``personal`` first, so destroying that key erases it while the chain stays verifiable. Its
/// canonical JSON (``canonicalJSON()``) is what the chain hashes and what the database keeps.
public struct AuditRecord: Codable, Sendable, Equatable {
    /// The actor without personal data.
    public struct Actor: Codable, Sendable, Equatable {
        public var type: String
        public var id: String
        public var sessionID: String?
        public var authenticationMethod: String?

        public init(type: String, id: String, sessionID: String? = nil, authenticationMethod: String? = nil) {
            self.type = type
            self.id = id
            self.sessionID = sessionID
            self.authenticationMethod = authenticationMethod
        }

        enum CodingKeys: String, CodingKey {
            case type, id
            case sessionID = "session_id"
            case authenticationMethod = "authentication_method"
        }
    }

    /// What was acted on, without its label.
    public struct Resource: Codable, Sendable, Equatable {
        public var type: String
        public var id: String

        public init(type: String, id: String) {
            self.type = type
            self.id = id
        }
    }

    /// The event's place in its tenant's chain, from 1.
    public var seq: Int64
    public var id: UUID
    public var tenantID: TenantID
    public var region: Region
    /// ISO 8601, whole seconds, UTC: text, so hashing never depends on date formatting.
    public var occurredAt: String
    public var receivedAt: String
    /// The service whose client certificate delivered the event.
    public var service: String
    public var actor: Actor
    public var action: String
    public var resource: Resource
    public var outcome: String
    public var requestID: String?
    public var source: String
    /// Base64 of the sealed personal part (``AuditEvent`` display name, IP, user agent, resource
    /// label, changes), or `nil` when the event carries none.
    public var personal: String?
    /// A signed statement kept verbatim (``AuditEvent/attestation``); absent from other records,
    /// so their canonical JSON is unchanged.
    public var attestation: String?

    public init(
        seq: Int64, id: UUID, tenantID: TenantID, region: Region, occurredAt: String, receivedAt: String, service: String,
        actor: Actor, action: String, resource: Resource, outcome: String, requestID: String?, source: String, personal: String?,
        attestation: String? = nil
    ) {
        self.seq = seq
        self.id = id
        self.tenantID = tenantID
        self.region = region
        self.occurredAt = occurredAt
        self.receivedAt = receivedAt
        self.service = service
        self.actor = actor
        self.action = action
        self.resource = resource
        self.outcome = outcome
        self.requestID = requestID
        self.source = source
        self.personal = personal
        self.attestation = attestation
    }

    enum CodingKeys: String, CodingKey {
        case seq, id, region, service, actor, action, resource, outcome, source, personal, attestation
        case tenantID = "tenant_id"
        case occurredAt = "occurred_at"
        case receivedAt = "received_at"
        case requestID = "request_id"
    }

    /// The bytes the chain hashes: JSON with sorted keys, no insignificant whitespace, `/` unescaped.
    public func canonicalJSON() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// Parses a stored record.
    public init(canonicalJSON text: String) throws {
        self = try JSONDecoder().decode(AuditRecord.self, from: Data(text.utf8))
    }

    /// The text form of a timestamp in records.
    public static func timestamp(_ date: Date) -> String {
        date.ISO8601Format()
    }
}
