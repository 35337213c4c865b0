import Foundation

/// One audit event, as every service writes it to its outbox and the audit service stores it.
/// Secrets never go in: `changes` names fields and their old and new values only for
/// non-secret fields (a password change is recorded as the fact, not the value).
public struct AuditEvent: Codable, Sendable, Equatable {
    /// Who acted.
    public struct Actor: Codable, Sendable, Equatable {
        /// `admin`, `agent`, `customer`, `api_key`, `oauth_client`, `system` or `operator`.
        public var type: String
        public var id: String
        public var displayName: String?
        public var ip: String?
        public var userAgent: String?
        public var sessionID: String?
        public var authenticationMethod: String?

        public init(type: String, id: String, displayName: String? = nil, ip: String? = nil, userAgent: String? = nil, sessionID: String? = nil, authenticationMethod: String? = nil) {
            self.type = type
            self.id = id
            self.displayName = displayName
            self.ip = ip
            self.userAgent = userAgent
            self.sessionID = sessionID
            self.authenticationMethod = authenticationMethod
        }

        enum CodingKeys: String, CodingKey {
            case type, id, ip
            case displayName = "display_name"
            case userAgent = "user_agent"
            case sessionID = "session_id"
            case authenticationMethod = "authentication_method"
        }
    }

    /// What was acted on.
    public struct Resource: Codable, Sendable, Equatable {
        public var type: String
        public var id: String
        public var label: String?

        public init(type: String, id: String, label: String? = nil) {
            self.type = type
            self.id = id
            self.label = label
        }
    }

    public var id: UUID
    public var tenantID: TenantID
    public var region: Region
    public var occurredAt: Date
    public var actor: Actor
    /// A dotted verb, for example `tenant.created` or `user.deactivated`.
    public var action: String
    public var resource: Resource
    public var changes: [String: [String?]]?
    /// `success` or `failure`.
    public var outcome: String
    public var requestID: String?
    /// `ui`, `api` or `system`.
    public var source: String
    /// A signed statement that must stay readable after the tenant's key is destroyed (a purge's
    /// deletion certificate): stored in the chain as it is, so it must hold no personal data.
    public var attestation: String?

    public init(
        tenantID: TenantID, region: Region, actor: Actor, action: String, resource: Resource,
        changes: [String: [String?]]? = nil, outcome: String = "success", requestID: String? = nil,
        source: String, occurredAt: Date = .now, attestation: String? = nil
    ) {
        self.id = UUIDv7.make(at: occurredAt)
        self.tenantID = tenantID
        self.region = region
        self.occurredAt = occurredAt
        self.actor = actor
        self.action = action
        self.resource = resource
        self.changes = changes
        self.outcome = outcome
        self.requestID = requestID
        self.source = source
        self.attestation = attestation
    }

    enum CodingKeys: String, CodingKey {
        case id, region, actor, action, resource, changes, outcome, source, attestation
        case tenantID = "tenant_id"
        case occurredAt = "occurred_at"
        case requestID = "request_id"
    }
}

/// Time-ordered UUIDs (RFC 9562 version 7): 48 bits of Unix milliseconds, then randomness.
public enum UUIDv7 {
    public static func make(at date: Date = .now) -> UUID {
        var bytes = (0..<16).map { _ in UInt8.random(in: .min ... .max) }
        let milliseconds = UInt64(max(0, date.timeIntervalSince1970 * 1000))
        for index in 0..<6 {
            bytes[index] = UInt8(truncatingIfNeeded: milliseconds >> (8 * (5 - index)))
        }
        bytes[6] = (bytes[6] & 0x0F) | 0x70
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return UUID(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                           bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
    }
}
