import Foundation
import Logging
import PostgresNIO
import RampartCore
import RampartStorage
import RampartTransport
import ServiceLifecycle

/// Deletes the sealed ID tokens (`oidc_sessions`) of sessions that ended without a sign-out:
/// expired, revoked, or gone. Signing out deletes its own row at once (`OIDCSignIn.endSessionURL`);
/// this sweep, run hourly over every tenant of the region, takes the rest, so a provider's ID
/// token is not kept for longer than the session it was kept for.
public struct OIDCSessionSweeper: Service {
    let database: Database
    let tenants: TenantRepository
    let interval: Duration
    let logger: Logger

    public init(database: Database, tenants: TenantRepository, interval: Duration = .seconds(3_600), logger: Logger) {
        self.database = database
        self.tenants = tenants
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        await Periodic.run(every: interval) { await self.sweepAll() }
    }

    /// One run over every tenant; a tenant that fails is logged and retried on the next run
    /// without holding up the others.
    func sweepAll() async {
        await Periodic.eachTenant("oidc_sessions", logger: logger, tenants: { try await tenants.list().map(\.id) }) { tenant in
            let swept = try await sweep(tenant)
            if swept > 0 { logger.info("oidc_sessions.swept", metadata: ["tenant.id": "\(tenant)", "count": "\(swept)"]) }
        }
    }

    /// Deletes `tenant`'s ID tokens whose session is no longer live (the same test as
    /// `SessionRepository.resolve`); answers how many.
    func sweep(_ tenant: TenantID) async throws -> Int {
        try await database.withTenant(tenant) { connection in
            try await connection.query("""
                DELETE FROM oidc_sessions o WHERE o.tenant_id = \(tenant.rawValue) AND NOT EXISTS (
                    SELECT 1 FROM sessions s
                    WHERE s.id = o.session_id AND s.revoked_at IS NULL AND s.idle_expires_at > now() AND s.absolute_expires_at > now())
                RETURNING o.session_id
                """, logger: logger).collect().count
        }
    }
}
