import Foundation
import PostgresNIO
import RampartCore
import RampartSecurity
import RampartStorage

/// Alerts as tenant admins list and acknowledge them.
public struct AlertRepository: Sendable {
    public let store: EventStore

    public init(store: EventStore) {
        self.store = store
    }

    /// One alert.
    public struct Alert: Codable, Sendable, Equatable {
        public var id: UUID
        public var rule: String
        public var severity: String
        public var summary: String
        public var windowStart: Date
        public var raisedAt: Date
        /// Sequence numbers of the events that triggered it.
        public var evidenceSeq: [Int64]
        public var acknowledgedAt: Date?
        public var acknowledgedBy: String?
        /// Impossible travel only: the two places, time between and speed; `nil` for other rules
        /// and once the tenant's key is destroyed.
        public var travel: TravelDetails?

        enum CodingKeys: String, CodingKey {
            case id, rule, severity, summary, travel
            case windowStart = "window_start"
            case raisedAt = "raised_at"
            case evidenceSeq = "evidence_seq"
            case acknowledgedAt = "acknowledged_at"
            case acknowledgedBy = "acknowledged_by"
        }
    }

    /// Which alerts to list.
    public enum Status: String, Sendable {
        case open, acknowledged, all
    }

    /// The tenant's alerts, newest first, raised before `before` (the cursor), at most `limit`;
    /// only the alert `only` when given.
    public func list(tenant: TenantID, status: Status, before: UUID?, limit: Int, only: UUID? = nil) async throws -> [Alert] {
        let logger = store.database.logger
        let (alerts, sealed) = try await store.database.withTenant(tenant) { connection in
            var alerts: [Alert] = []
            let rows = try await connection.query("""
                SELECT id, rule, severity, summary, window_start, raised_at, evidence_seq, acknowledged_at, acknowledged_by, details
                FROM alerts WHERE tenant_id = \(tenant.rawValue)
                  AND (\(before)::uuid IS NULL OR id < \(before))
                  AND (\(only)::uuid IS NULL OR id = \(only))
                  AND (\(status.rawValue) = 'all' OR (\(status.rawValue) = 'open') = (acknowledged_at IS NULL))
                ORDER BY id DESC LIMIT \(limit)
                """, logger: logger)
            var sealed: [UUID: String] = [:]
            for try await (id, rule, severity, summary, window, raised, evidence, acknowledgedAt, acknowledgedBy, details) in
                rows.decode((UUID, String, String, String, Date, Date, [Int64], Date?, String?, String?).self) {
                alerts.append(Alert(id: id, rule: rule, severity: severity, summary: summary, windowStart: window, raisedAt: raised,
                                    evidenceSeq: evidence, acknowledgedAt: acknowledgedAt, acknowledgedBy: acknowledgedBy))
                sealed[id] = details
            }
            return (alerts, sealed)
        }
        var opened: [Alert] = []
        for var alert in alerts {
            if let details = sealed[alert.id] { alert.travel = try await open(details, alert: alert.id, tenant: tenant) }
            opened.append(alert)
        }
        return opened
    }

    /// Where an alert's sealed details live: they open only for their own alert.
    static func sealContext(_ alert: UUID) -> SealContext {
        SealContext(table: "audit.alerts", column: "details", rowID: alert.uuidString.lowercased())
    }

    /// `details` sealed with the tenant's data key, base64, for the `details` column.
    static func seal(_ details: TravelDetails, alert: UUID, tenant: TenantID, keyring: TenantKeyring) async throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return try await keyring.seal(try encoder.encode(details), tenant: tenant, context: sealContext(alert)).base64EncodedString()
    }

    /// Opened details, or `nil` once the tenant's key is destroyed.
    private func open(_ sealed: String, alert: UUID, tenant: TenantID) async throws -> TravelDetails? {
        guard let box = Data(base64Encoded: sealed) else { return nil }
        do {
            return try JSONDecoder().decode(TravelDetails.self, from: try await store.keyring.open(box, tenant: tenant, context: Self.sealContext(alert)))
        } catch EnvelopeError.tenantKeyDestroyed, EnvelopeError.tenantKeyMissing {
            return nil
        }
    }

    /// Acknowledges an open alert (idempotent) and records who did, in the chain.
    public func acknowledge(_ id: UUID, tenant: TenantID, actor: AuditEvent.Actor, requestID: String) async throws -> Alert {
        let logger = store.database.logger
        let store = self.store
        try await store.database.withTenant(tenant) { connection in
            // The chain first, then the alert: the order the alert scanner takes them in (it
            // raises alerts under the chain lock), so an acknowledgement and a scan cannot deadlock.
            try await store.lockChain(tenant, on: connection)
            let updated = try await connection.query("""
                UPDATE alerts SET acknowledged_at = now(), acknowledged_by = \(actor.id)
                WHERE tenant_id = \(tenant.rawValue) AND id = \(id) AND acknowledged_at IS NULL
                RETURNING id
                """, logger: logger).collectValues(UUID.self)
            if updated.isEmpty {
                let exists = try await connection.query("SELECT id FROM alerts WHERE tenant_id = \(tenant.rawValue) AND id = \(id)", logger: logger).collectValues(UUID.self)
                guard !exists.isEmpty else { throw AuditError.alertNotFound }
                return
            }
            try await store.record(AuditEvent(
                tenantID: tenant, region: store.region, actor: actor, action: "alert.acknowledged",
                resource: .init(type: "alert", id: id.uuidString.lowercased()), requestID: requestID, source: "api"
            ), on: connection)
        }
        guard let alert = try await list(tenant: tenant, status: .all, before: nil, limit: 1, only: id).first else {
            throw AuditError.alertNotFound
        }
        return alert
    }
}
