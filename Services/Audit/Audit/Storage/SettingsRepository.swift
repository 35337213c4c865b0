import Foundation
import PostgresNIO
import RampartCore
import RampartStorage
import RampartTransport

/// Reads and writes tenants' audit settings.
public struct SettingsRepository: Sendable {
    public let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// The tenant's settings inside an open tenant transaction; the defaults without a row.
    static func settings(tenant: TenantID, on connection: PostgresConnection, logger: Logger) async throws -> TenantAuditSettings {
        var settings = TenantAuditSettings()
        let rows = try await connection.query("""
            SELECT retention_days, brute_force_threshold, spraying_threshold, export_threshold, business_hours_start, business_hours_end, time_zone,
                   travel_speed_kmh, travel_min_distance_km
            FROM tenant_settings WHERE tenant_id = \(tenant.rawValue)
            """, logger: logger)
        for try await (retention, bruteForce, spraying, export, start, end, zone, speed, distance) in
            rows.decode((Int, Int, Int, Int, Int16, Int16, String, Int, Int).self) {
            settings.retentionDays = retention
            settings.bruteForceThreshold = bruteForce
            settings.sprayingThreshold = spraying
            settings.exportThreshold = export
            settings.businessHoursStart = Int(start)
            settings.businessHoursEnd = Int(end)
            settings.timeZone = zone
            settings.travelSpeedKmh = speed
            settings.travelMinDistanceKm = distance
        }
        return settings
    }

    public func settings(tenant: TenantID) async throws -> TenantAuditSettings {
        let logger = database.logger
        return try await database.withTenant(tenant) { try await Self.settings(tenant: tenant, on: $0, logger: logger) }
    }

    /// Stores `settings` and records the change (with old and new values) in the log. Changes of
    /// one tenant's settings run one after another (a per-tenant lock); `check` sees the stored
    /// settings under it and may refuse the change (a stale version).
    public func update(_ settings: TenantAuditSettings, tenant: TenantID, actor: AuditEvent.Actor, requestID: String, store: EventStore,
                       check: (TenantAuditSettings) throws -> Void = { _ in }) async throws -> TenantAuditSettings {
        if let problem = settings.invalidField() { throw AuditError.invalidQuery(field: problem.0, message: problem.1) }
        let logger = database.logger
        try await database.withTenant(tenant) { connection in
            try await TransactionLock.take("audit.settings:\(tenant.rawValue)", on: connection, logger: logger)
            let previous = try await Self.settings(tenant: tenant, on: connection, logger: logger)
            try check(previous)
            try await connection.query("""
                INSERT INTO tenant_settings (tenant_id, retention_days, brute_force_threshold, spraying_threshold, export_threshold,
                                             business_hours_start, business_hours_end, time_zone, travel_speed_kmh, travel_min_distance_km, updated_at)
                VALUES (\(tenant.rawValue), \(settings.retentionDays), \(settings.bruteForceThreshold), \(settings.sprayingThreshold),
                        \(settings.exportThreshold), \(Int16(settings.businessHoursStart)), \(Int16(settings.businessHoursEnd)), \(settings.timeZone),
                        \(settings.travelSpeedKmh), \(settings.travelMinDistanceKm), now())
                ON CONFLICT (tenant_id) DO UPDATE SET retention_days = EXCLUDED.retention_days,
                    brute_force_threshold = EXCLUDED.brute_force_threshold, spraying_threshold = EXCLUDED.spraying_threshold,
                    export_threshold = EXCLUDED.export_threshold, business_hours_start = EXCLUDED.business_hours_start,
                    business_hours_end = EXCLUDED.business_hours_end, time_zone = EXCLUDED.time_zone,
                    travel_speed_kmh = EXCLUDED.travel_speed_kmh, travel_min_distance_km = EXCLUDED.travel_min_distance_km, updated_at = now()
                """, logger: logger)
            var changes: [String: [String?]] = [:]
            let before = try Self.fields(previous)
            for (key, value) in try Self.fields(settings) where before[key] != value { changes[key] = [before[key], value] }
            try await store.record(AuditEvent(
                tenantID: tenant, region: store.region, actor: actor, action: "audit_settings.updated",
                resource: .init(type: "audit_settings", id: tenant.description), changes: changes.isEmpty ? nil : changes,
                requestID: requestID, source: "api"
            ), on: connection)
        }
        return settings
    }

    /// The settings as field → text, for recording changes.
    static func fields(_ settings: TenantAuditSettings) throws -> [String: String] {
        let object = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(settings)) as? [String: Any] ?? [:]
        return object.mapValues { "\($0)" }
    }
}

extension TenantAuditSettings {
    /// The settings' version (the API's `ETag`, the console form's hidden field): their content.
    public var version: String { EntityTag.version(of: self) }
}
