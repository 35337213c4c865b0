import Foundation
import Logging
import PostgresNIO
import RampartCore
import RampartStorage
import RampartTransport
import ServiceLifecycle

/// Applies each tenant's retention settings on a schedule: the recycle bin is emptied of tickets
/// deleted more than `recycle_bin_days` ago, and closed tickets untouched for `closed_ticket_days`
/// are deleted when the tenant set that. Their messages, attachments and search entries go with
/// them. Uploads never sent within `AttachmentRepository.unsentLifetime` are deleted too. Every run that deletes anything of a tenant records one audit event with the counts, in
/// the same transaction as the deletion.
public struct RetentionSweeper: Service {
    /// What one run deleted of one tenant.
    public struct Swept: Sendable, Equatable {
        public var fromRecycleBin: Int
        public var closed: Int
        /// Uploads that expired unsent (including those made for a ticket never created).
        public var expiredUploads: Int
    }

    let store: TicketStore
    let interval: Duration
    let logger: Logger
    let clock: @Sendable () -> Date

    init(store: TicketStore, interval: Duration = .seconds(3_600), logger: Logger, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.store = store
        self.interval = interval
        self.logger = logger
        self.clock = clock
    }

    public func run() async throws {
        await Periodic.run(every: interval) { await self.sweepAll() }
    }

    /// One run over every tenant of the region (those with a live key); a tenant that fails is
    /// logged and retried on the next run without holding up the others.
    func sweepAll() async {
        await Periodic.eachTenant("retention", logger: logger, tenants: { try await store.keyring.tenants() }) { _ = try await sweep($0) }
    }

    func sweep(_ tenant: TenantID) async throws -> Swept {
        let now = clock()
        let region = store.region
        let logger = store.logger
        return try await store.database.withTenant(tenant) { connection in
            let settings = try await store.settings(on: connection)
            let binCutoff = now.addingTimeInterval(-Double(settings.recycleBinDays) * 86_400)
            var swept = Swept(fromRecycleBin: try await connection.query("""
                DELETE FROM tickets WHERE deleted_at IS NOT NULL AND deleted_at < \(binCutoff) RETURNING id
                """, logger: logger).collect().count, closed: 0, expiredUploads: 0)
            if settings.closedTicketDays > 0 {
                let closedCutoff = now.addingTimeInterval(-Double(settings.closedTicketDays) * 86_400)
                swept.closed = try await connection.query("""
                    DELETE FROM tickets WHERE deleted_at IS NULL AND status = 'closed' AND updated_at < \(closedCutoff) RETURNING id
                    """, logger: logger).collect().count
            }
            let uploadCutoff = now.addingTimeInterval(-AttachmentRepository.unsentLifetime)
            swept.expiredUploads = try await connection.query("""
                DELETE FROM attachments WHERE message_id IS NULL AND created_at < \(uploadCutoff) RETURNING id
                """, logger: logger).collect().count
            if swept.fromRecycleBin + swept.closed + swept.expiredUploads > 0 {
                try await AuditOutbox.append(AuditEvent(
                    tenantID: tenant, region: region, actor: .init(type: "system", id: "rampart-tickets"), action: "tickets.retention_applied",
                    resource: .init(type: "ticket_retention", id: tenant.description),
                    changes: ["recycle_bin_deleted": [nil, String(swept.fromRecycleBin)], "closed_deleted": [nil, String(swept.closed)],
                              "expired_uploads_deleted": [nil, String(swept.expiredUploads)]],
                    source: "system"
                ), on: connection, logger: logger)
            }
            return swept
        }
    }
}
