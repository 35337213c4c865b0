import Crypto
import Foundation
import Logging
import PostgresNIO
import RampartCore
import RampartSecurity
import RampartStorage

/// Runs the anomaly rules over each tenant's events not judged yet, raising alerts. Each alert
/// is a row of `alerts` (de-duplicated per rule, subject and window) and an `alert.raised` event
/// in the tenant's chain, in the same transaction. Progress is kept per tenant, so every event
/// is judged once even across replicas (the progress row is locked while a round runs).
public struct AlertScanner: Sendable {
    public let store: EventStore
    /// Locates sign-ins for the impossible-travel rule; without it that rule is off.
    public let geoIP: GeoIPLocator?
    /// Events judged per tenant and round.
    static let batch = 2000

    public init(store: EventStore, geoIP: GeoIPLocator?) {
        self.store = store
        self.geoIP = geoIP
    }

    /// One round over every tenant; returns how many alerts were raised.
    @discardableResult
    public func run() async throws -> Int {
        var raised = 0
        for tenant in try await store.keyring.tenants() {
            raised += try await run(tenant: tenant)
        }
        return raised
    }

    /// The facts of one event the rules need.
    struct Judged {
        var seq: Int64
        var action: String
        var actorType: String
        var actorID: String
        var resourceID: String
        var outcome: String
        var occurredAt: Date
        var ipIndex: String?
        var record: String
    }

    /// An alert about to be raised.
    struct Finding {
        var rule: AlertRule
        var subject: String
        var windowStart: Date
        var summary: String
        var evidence: [Int64]
        /// The places of an impossible-travel pair; stored sealed.
        var travel: TravelDetails? = nil
    }

    func run(tenant: TenantID) async throws -> Int {
        let logger = store.database.logger
        return try await store.database.withTenant(tenant) { connection in
            try await connection.query("INSERT INTO alert_progress (tenant_id) VALUES (\(tenant.rawValue)) ON CONFLICT DO NOTHING", logger: logger)
            var scanned: Int64 = 0
            for try await value in try await connection.query("SELECT scanned_seq FROM alert_progress WHERE tenant_id = \(tenant.rawValue) FOR UPDATE", logger: logger).decode(Int64.self) {
                scanned = value
            }
            let settings = try await SettingsRepository.settings(tenant: tenant, on: connection, logger: logger)
            var events: [Judged] = []
            for try await row in try await connection.query("""
                SELECT seq, action, actor_type, actor_id, resource_id, outcome, occurred_at, encode(ip_index, 'hex'), record
                FROM events WHERE tenant_id = \(tenant.rawValue) AND seq > \(scanned) ORDER BY seq LIMIT \(Self.batch)
                """, logger: logger) {
                let (seq, action, actorType, actorID, resourceID, outcome, occurredAt, ipIndex, record) =
                    try row.decode((Int64, String, String, String, String, String, Date, String?, String).self)
                events.append(Judged(seq: seq, action: action, actorType: actorType, actorID: actorID, resourceID: resourceID,
                                     outcome: outcome, occurredAt: occurredAt, ipIndex: ipIndex, record: record))
            }
            guard let last = events.last else { return 0 }
            var raised = 0
            for event in events where !event.action.hasPrefix("alert.") {
                for finding in try await findings(for: event, tenant: tenant, settings: settings, on: connection) {
                    raised += try await raise(finding, tenant: tenant, on: connection)
                }
            }
            try await connection.query("UPDATE alert_progress SET scanned_seq = \(last.seq) WHERE tenant_id = \(tenant.rawValue)", logger: logger)
            return raised
        }
    }

    /// The rules one event triggers.
    private func findings(for event: Judged, tenant: TenantID, settings: TenantAuditSettings, on connection: PostgresConnection) async throws -> [Finding] {
        let logger = store.database.logger
        var found: [Finding] = []
        if AlertRule.signInFailures.contains(event.action), let ip = event.ipIndex {
            let tenMinutes = event.occurredAt.addingTimeInterval(-600)
            let failures = try await connection.query("""
                SELECT seq FROM events WHERE tenant_id = \(tenant.rawValue) AND action = ANY(\(AlertRule.signInFailures))
                  AND ip_index = decode(\(ip), 'hex') AND resource_id = \(event.resourceID)
                  AND occurred_at > \(tenMinutes) AND occurred_at <= \(event.occurredAt) ORDER BY seq
                """, logger: logger).collectValues(Int64.self)
            if failures.count >= settings.bruteForceThreshold {
                found.append(Finding(rule: .bruteForce, subject: Self.subject(event.resourceID, ip), windowStart: Self.bucket(event.occurredAt, 600),
                                     summary: "\(failures.count) sign-in failures for one user from one IP within 10 minutes", evidence: failures))
            }
            let halfHour = event.occurredAt.addingTimeInterval(-1800)
            let users = try await connection.query("""
                SELECT min(seq) FROM events WHERE tenant_id = \(tenant.rawValue) AND action = ANY(\(AlertRule.signInFailures))
                  AND ip_index = decode(\(ip), 'hex') AND occurred_at > \(halfHour) AND occurred_at <= \(event.occurredAt)
                GROUP BY resource_id ORDER BY 1
                """, logger: logger).collectValues(Int64.self)
            if users.count >= settings.sprayingThreshold {
                found.append(Finding(rule: .passwordSpraying, subject: Self.subject(ip), windowStart: Self.bucket(event.occurredAt, 1800),
                                     summary: "sign-in failures for \(users.count) different users from one IP within 30 minutes", evidence: users))
            }
        }
        if AlertRule.isExport(event.action) {
            let day = event.occurredAt.addingTimeInterval(-86400)
            let month = event.occurredAt.addingTimeInterval(-31 * 86400)
            let recent = try await connection.query("""
                SELECT seq FROM events WHERE tenant_id = \(tenant.rawValue) AND actor_id = \(event.actorID)
                  AND (action LIKE '%.exported' OR action LIKE '%.downloaded') AND occurred_at > \(day) AND occurred_at <= \(event.occurredAt)
                ORDER BY seq
                """, logger: logger).collectValues(Int64.self)
            let before = try await connection.query("""
                SELECT count(*) FROM events WHERE tenant_id = \(tenant.rawValue) AND actor_id = \(event.actorID)
                  AND (action LIKE '%.exported' OR action LIKE '%.downloaded') AND occurred_at > \(month) AND occurred_at <= \(day)
                """, logger: logger).collectValues(Int64.self).first ?? 0
            // The baseline: three times the actor's daily average of the month before, never below the threshold.
            let baseline = max(settings.exportThreshold, Int((Double(before) / 30 * 3).rounded(.up)))
            if recent.count > baseline {
                found.append(Finding(rule: .massExport, subject: Self.subject(event.actorID), windowStart: Self.bucket(event.occurredAt, 86400),
                                     summary: "\(recent.count) exports or downloads by one actor within 24 hours (baseline \(baseline))", evidence: recent))
            }
        }
        if event.action == "user.role_changed", try await store.changes(of: event.record, tenant: tenant)?["role"]?.last == "admin" {
            found.append(Finding(rule: .privilegeEscalation, subject: event.resourceID, windowStart: event.occurredAt,
                                 summary: "a user's role was changed to admin", evidence: [event.seq]))
        }
        if AlertRule.credentialActions.contains(event.action) {
            found.append(Finding(rule: .credentialCreated, subject: event.resourceID, windowStart: event.occurredAt,
                                 summary: event.action == "api_key.created" ? "an API key was created" : "an OAuth client was created", evidence: [event.seq]))
        }
        if AlertRule.securityActions.contains(event.action) || event.action.hasPrefix("sso.") {
            found.append(Finding(rule: .securitySettingChanged, subject: "seq-\(event.seq)", windowStart: event.occurredAt,
                                 summary: "security or SSO settings changed (\(event.action))", evidence: [event.seq]))
        }
        if event.actorType == "admin", event.outcome == "success", !event.action.hasPrefix("auth."), !event.action.hasPrefix("audit."),
           !settings.isBusinessTime(event.occurredAt) {
            found.append(Finding(rule: .offHoursAdminAction, subject: "seq-\(event.seq)", windowStart: event.occurredAt,
                                 summary: "an admin acted outside business hours (\(event.action))", evidence: [event.seq]))
        }
        found += try await travelFindings(for: event, tenant: tenant, settings: settings, on: connection)
        return found
    }

    /// Stores a finding once per rule, subject and window, and records it in the chain.
    private func raise(_ finding: Finding, tenant: TenantID, on connection: PostgresConnection) async throws -> Int {
        let logger = store.database.logger
        let id = UUIDv7.make()
        var details: String?
        var changes: [String: [String?]] = ["rule": [nil, finding.rule.rawValue], "severity": [nil, finding.rule.severity]]
        if let travel = finding.travel {
            details = try await AlertRepository.seal(travel, alert: id, tenant: tenant, keyring: store.keyring)
            // The event's changes are sealed with its personal part, so the places may go there too.
            changes["from"] = [nil, travel.from.label]
            changes["to"] = [nil, travel.to.label]
            changes["speed_kmh"] = [nil, String(travel.speedKmh)]
        }
        let inserted = try await connection.query("""
            INSERT INTO alerts (tenant_id, id, rule, severity, subject, window_start, summary, evidence_seq, details)
            VALUES (\(tenant.rawValue), \(id), \(finding.rule.rawValue), \(finding.rule.severity), \(finding.subject),
                    \(finding.windowStart), \(finding.summary), \(finding.evidence), \(details))
            ON CONFLICT (tenant_id, rule, subject, window_start) DO NOTHING
            RETURNING id
            """, logger: logger).collectValues(UUID.self)
        guard !inserted.isEmpty else { return 0 }
        try await store.record(AuditEvent(
            tenantID: tenant, region: store.region, actor: .init(type: "system", id: "audit.alert-rules"), action: "alert.raised",
            resource: .init(type: "alert", id: id.uuidString.lowercased()), changes: changes, source: "system"
        ), on: connection)
        logger.notice("audit.alert.raised", metadata: ["tenant.id": "\(tenant)", "alert.rule": "\(finding.rule.rawValue)"])
        return 1
    }

    /// An opaque subject from parts that may be personal (user ids with IP indexes).
    static func subject(_ parts: String...) -> String {
        Hex.encode(Data(SHA256.hash(data: Data(parts.joined(separator: "\u{0}").utf8))))
    }

    /// The start of the `seconds`-long window `date` falls in.
    static func bucket(_ date: Date, _ seconds: TimeInterval) -> Date {
        Date(timeIntervalSince1970: (date.timeIntervalSince1970 / seconds).rounded(.down) * seconds)
    }
}

extension PostgresRowSequence {
    /// Every value of the first column.
    func collectValues<T: PostgresDecodable & Sendable>(_ type: T.Type) async throws -> [T] {
        var values: [T] = []
        for try await value in decode(T.self) { values.append(value) }
        return values
    }
}

extension EventStore {
    /// The opened `changes` of a stored record, or `nil` (none, or erased).
    func changes(of record: String, tenant: TenantID) async throws -> [String: [String?]]? {
        try await view(try AuditRecord(canonicalJSON: record), tenant: tenant).changes
    }
}
