import Foundation
import PostgresNIO
import RampartCore
import RampartSecurity
import RampartStorage

/// Deletes each tenant's events older than its retention period (default one year) through the
/// database's `apply_retention`, which cuts the chain at a signed checkpoint so what remains
/// still verifies. Deletion certificates of tenant purges live in their own table and stay.
public struct Retention: Sendable {
    public let database: Database
    public let keyring: TenantKeyring

    public init(database: Database, keyring: TenantKeyring) {
        self.database = database
        self.keyring = keyring
    }

    /// Applies every tenant's retention; returns how many events were deleted.
    @discardableResult
    public func run() async throws -> Int64 {
        var removed: Int64 = 0
        for tenant in try await keyring.tenants() {
            removed += try await run(tenant: tenant)
        }
        return removed
    }

    func run(tenant: TenantID) async throws -> Int64 {
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            var removed: Int64 = 0
            for try await count in try await connection.query("SELECT apply_retention(\(tenant.rawValue))", logger: logger).decode(Int64.self) {
                removed = count
            }
            if removed > 0 { logger.info("audit.retention.applied", metadata: ["tenant.id": "\(tenant)", "events.deleted": "\(removed)"]) }
            return removed
        }
    }
}
