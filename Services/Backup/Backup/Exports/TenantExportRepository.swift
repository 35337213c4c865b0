import Foundation
import Logging
import PostgresNIO
import RampartCore
import RampartStorage

/// One tenant export: its state, and once built the archive's size, the SHA-256 of its signed
/// manifest and when it stops being downloadable.
public struct TenantExport: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable { case running, completed, failed }

    public let id: UUID
    public let tenantID: TenantID
    public var state: State
    public let requestedBy: String
    public let requestedAt: Date
    public var completedAt: Date?
    public var expiresAt: Date
    /// The archive's size in bytes (the tar as downloaded, not the sealed file).
    public var size: Int64?
    public var manifestSHA256: String?
    public var error: String?

    enum CodingKeys: String, CodingKey {
        case id, state, size, error
        case tenantID = "tenant_id"
        case requestedBy = "requested_by"
        case requestedAt = "requested_at"
        case completedAt = "completed_at"
        case expiresAt = "expires_at"
        case manifestSHA256 = "manifest_sha256"
    }
}

/// The `tenant_exports` table, always read and written inside the tenant's transaction
/// (row-level security): one tenant never sees another's exports.
public struct TenantExportRepository: Sendable {
    let database: Database

    static let columns = "id, tenant_id, state, requested_by, requested_at, completed_at, expires_at, size, manifest_sha256, error"

    /// How often an export's build records that its process is alive (``beat(_:at:)``), and how
    /// long a build may go without that before it counts as cut off (its process was stopped).
    static let heartbeatInterval: TimeInterval = 60
    static let silenceLimit: TimeInterval = 300

    static let interrupted = "interrupted: the backup service stopped while building the archive"

    /// A new running export (`nil` when the tenant already has one running), and the builds whose
    /// process had been silent for ``silenceLimit``: failed first, they do not hold the tenant
    /// (their partial archives are the caller's to delete).
    func start(tenant: TenantID, requestedBy: String, at now: Date, expiresAt: Date) async throws -> (export: TenantExport?, interrupted: [UUID]) {
        let export = TenantExport(id: UUIDv7.make(at: now), tenantID: tenant, state: .running, requestedBy: requestedBy, requestedAt: now,
                                  expiresAt: expiresAt)
        return try await database.withTenant(tenant) { connection in
            let interrupted = try await Self.failSilent(at: now, on: connection, logger: database.logger)
            let inserted = try await connection.query("""
                INSERT INTO tenant_exports (id, tenant_id, requested_by, requested_at, expires_at, heartbeat_at)
                VALUES (\(export.id), \(tenant.rawValue), \(requestedBy), \(now), \(expiresAt), \(now))
                ON CONFLICT (tenant_id) WHERE state = 'running' DO NOTHING
                RETURNING id
                """, logger: database.logger).any()
            return (inserted ? export : nil, interrupted)
        }
    }

    /// Records that `export`'s build is still alive, every ``heartbeatInterval`` while it runs.
    func beat(_ export: TenantExport, at now: Date) async throws {
        try await database.withTenant(export.tenantID) { connection in
            _ = try await connection.query("""
                UPDATE tenant_exports SET heartbeat_at = \(now) WHERE id = \(export.id) AND state = 'running'
                """, logger: database.logger)
        }
    }

    /// Fails the tenant's builds silent for ``silenceLimit`` by `now` (their process was stopped);
    /// returns their ids (their partial archives are the caller's to delete).
    func failInterrupted(tenant: TenantID, at now: Date) async throws -> [UUID] {
        try await database.withTenant(tenant) { connection in
            try await Self.failSilent(at: now, on: connection, logger: database.logger)
        }
    }

    /// A build recorded before heartbeats existed (a rolling deploy) has none: it keeps about the
    /// old rule and counts as cut off a day (and the five minutes' silence) after it was requested.
    private static func failSilent(at now: Date, on connection: PostgresConnection, logger: Logger) async throws -> [UUID] {
        var ids: [UUID] = []
        for try await id in try await connection.query("""
            UPDATE tenant_exports SET state = 'failed', completed_at = \(now), error = \(interrupted)
            WHERE state = 'running' AND COALESCE(heartbeat_at, requested_at + interval '1 day') < \(now.addingTimeInterval(-silenceLimit))
            RETURNING id
            """, logger: logger).decode(UUID.self) {
            ids.append(id)
        }
        return ids
    }

    func find(_ id: UUID, tenant: TenantID) async throws -> TenantExport? {
        try await select(tenant, "WHERE id = \(id)").first
    }

    func list(tenant: TenantID, limit: Int = 50) async throws -> [TenantExport] {
        try await select(tenant, "ORDER BY requested_at DESC LIMIT \(limit)")
    }

    /// Records how the build ended; `false` when it no longer counted as running (it fell silent
    /// and was failed as interrupted, which stands).
    @discardableResult
    func finish(_ export: TenantExport) async throws -> Bool {
        let error = export.error.map { String($0.prefix(600)) }
        return try await database.withTenant(export.tenantID) { connection in
            try await connection.query("""
                UPDATE tenant_exports SET state = \(export.state.rawValue), completed_at = \(export.completedAt), expires_at = \(export.expiresAt),
                    size = \(export.size), manifest_sha256 = \(export.manifestSHA256), error = \(error)
                WHERE id = \(export.id) AND state = 'running'
                RETURNING id
                """, logger: database.logger).any()
        }
    }

    /// Deletes the tenant's exports expired by `now` (all of them when `now` is `nil`); returns
    /// their ids.
    func delete(tenant: TenantID, expiredBy now: Date?) async throws -> [UUID] {
        try await database.withTenant(tenant) { connection in
            var ids: [UUID] = []
            for try await id in try await connection.query("""
                DELETE FROM tenant_exports
                WHERE \(now)::timestamptz IS NULL OR expires_at <= \(now)
                RETURNING id
                """, logger: database.logger).decode(UUID.self) {
                ids.append(id)
            }
            return ids
        }
    }

    private func select(_ tenant: TenantID, _ tail: PostgresQuery) async throws -> [TenantExport] {
        try await database.withTenant(tenant) { connection in
            let query = PostgresQuery(unsafeSQL: "SELECT \(Self.columns) FROM tenant_exports " + tail.sql, binds: tail.binds)
            var exports: [TenantExport] = []
            for try await row in try await connection.query(query, logger: database.logger) {
                let c = row.makeRandomAccess()
                guard let state = TenantExport.State(rawValue: try c[2].decode(String.self)) else { continue }
                exports.append(TenantExport(
                    id: try c[0].decode(UUID.self), tenantID: TenantID(rawValue: try c[1].decode(UUID.self)), state: state,
                    requestedBy: try c[3].decode(String.self), requestedAt: try c[4].decode(Date.self), completedAt: try c[5].decode(Date?.self),
                    expiresAt: try c[6].decode(Date.self), size: try c[7].decode(Int64?.self), manifestSHA256: try c[8].decode(String?.self),
                    error: try c[9].decode(String?.self)
                ))
            }
            return exports
        }
    }
}
