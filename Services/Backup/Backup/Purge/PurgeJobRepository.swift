import Foundation
import PostgresNIO
import RampartCore
import RampartStorage

/// One tenant's purge and how far it got. Each step is recorded as it succeeds, so a retry
/// resumes where the last attempt stopped and never repeats a finished step.
public struct PurgeJob: Codable, Sendable, Equatable {
    public enum Reason: String, Codable, Sendable { case gracePeriodEnded = "grace_period_ended", immediately }
    public enum State: String, Codable, Sendable { case running, completed, abandoned }

    public let id: UUID
    public let tenantID: TenantID
    public let reason: Reason
    public let requestedBy: String
    public let requestedAt: Date
    public var state: State
    /// What each service reported deleting, in the order they were asked.
    public var deleted: [TenantDataDeletion]
    public var keyDestroyedAt: Date?
    /// The signed deletion certificate (``DeletionCertificate/Signed``, compact JSON).
    public var certificate: String?
    public var ledgerWritten: Bool
    public var audited: Bool
    public var attempts: Int
    public var lastError: String?
    public var nextAttemptAt: Date
    public var completedAt: Date?
    /// The claim this copy of the job was taken under (``PurgeJobRepository/claim(_:at:lease:)``);
    /// only the current claim's holder may record progress. Not part of the job as shown.
    public var lease: UUID? = nil

    enum CodingKeys: String, CodingKey {
        case id, reason, state, deleted, certificate, audited, attempts
        case tenantID = "tenant_id"
        case requestedBy = "requested_by"
        case requestedAt = "requested_at"
        case keyDestroyedAt = "key_destroyed_at"
        case ledgerWritten = "ledger_written"
        case lastError = "last_error"
        case nextAttemptAt = "next_attempt_at"
        case completedAt = "completed_at"
    }
}

/// The `purge_jobs` table.
public struct PurgeJobRepository: Sendable {
    let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// The tenant's purge: the one already recorded, or a new one starting now. A purge that was
    /// abandoned (the tenant was reinstated before anything was deleted) starts over.
    public func findOrCreate(tenant: TenantID, reason: PurgeJob.Reason, requestedBy: String, at now: Date) async throws -> (job: PurgeJob, created: Bool) {
        let id = UUIDv7.make(at: now)
        let inserted = try await database.withTransaction { connection in
            try await connection.query("""
                INSERT INTO purge_jobs (id, tenant_id, reason, requested_by, requested_at, next_attempt_at)
                VALUES (\(id), \(tenant.rawValue), \(reason.rawValue), \(requestedBy), \(now), \(now))
                ON CONFLICT (tenant_id) DO UPDATE SET
                    state = 'running', reason = EXCLUDED.reason, requested_by = EXCLUDED.requested_by, requested_at = EXCLUDED.requested_at,
                    next_attempt_at = EXCLUDED.next_attempt_at, attempts = 0, last_error = NULL
                WHERE purge_jobs.state = 'abandoned'
                RETURNING id
                """, logger: database.logger).collect().count == 1
        }
        guard let job = try await find(tenant: tenant) else { throw PurgeFailure("the purge of \(tenant) was not recorded") }
        return (job, inserted)
    }

    public func find(tenant: TenantID) async throws -> PurgeJob? {
        try await select("WHERE tenant_id = $1::uuid", tenant.description).first
    }

    public func find(id: UUID) async throws -> PurgeJob? {
        try await select("WHERE id = $1::uuid", id.uuidString).first
    }

    public func recent(limit: Int) async throws -> [PurgeJob] {
        try await select("ORDER BY requested_at DESC LIMIT \(limit)", nil)
    }

    /// Takes the next running purge due by `now`, leasing it for `lease` so another replica
    /// leaves it alone meanwhile; `nil` when none is due.
    public func claimDue(at now: Date, lease: TimeInterval) async throws -> PurgeJob? {
        try await claim(nil, at: now, lease: lease)
    }

    /// Takes purge `id` (`nil`: the next one due) if it is running and due by `now`, so nobody
    /// else holds it, leasing it for `lease` under a claim of its own; `nil` otherwise.
    public func claim(_ id: UUID?, at now: Date, lease: TimeInterval) async throws -> PurgeJob? {
        let claimed = try await database.withTransaction { connection -> UUID? in
            var claimed: UUID?
            let rows = try await connection.query("""
                UPDATE purge_jobs SET next_attempt_at = \(now.addingTimeInterval(lease)), lease = \(UUID())
                WHERE id = (SELECT id FROM purge_jobs WHERE state = 'running' AND next_attempt_at <= \(now) AND (\(id)::uuid IS NULL OR id = \(id))
                            ORDER BY next_attempt_at LIMIT 1 FOR UPDATE SKIP LOCKED)
                RETURNING id
                """, logger: database.logger)
            for try await id in rows.decode(UUID.self) { claimed = id }
            return claimed
        }
        guard let claimed else { return nil }
        return try await find(id: claimed)
    }

    /// Another run of the purger has claimed the job since this copy was taken: it records the progress now.
    public struct LeaseLost: Error {}

    /// Stores the job's progress as it stands; ``LeaseLost`` (nothing stored) when the job's
    /// claim is no longer the current one.
    public func save(_ job: PurgeJob) async throws {
        let deleted = String(decoding: try JSONEncoder().encode(job.deleted), as: UTF8.self)
        let error = job.lastError.map { String($0.prefix(600)) }
        let saved = try await database.withTransaction { connection in
            try await connection.query("""
                UPDATE purge_jobs SET state = \(job.state.rawValue), deleted = \(deleted)::jsonb, key_destroyed_at = \(job.keyDestroyedAt),
                    certificate = \(job.certificate), ledger_written = \(job.ledgerWritten), audited = \(job.audited),
                    attempts = \(job.attempts), last_error = \(error), next_attempt_at = \(job.nextAttemptAt), completed_at = \(job.completedAt)
                WHERE id = \(job.id) AND lease IS NOT DISTINCT FROM \(job.lease)
                RETURNING 1
                """, logger: database.logger).any()
        }
        guard saved else { throw LeaseLost() }
    }

    private func select(_ tail: String, _ bind: String?) async throws -> [PurgeJob] {
        var bindings = PostgresBindings()
        if let bind { bindings.append(bind) }
        let rows = try await database.client.query(PostgresQuery(unsafeSQL: """
            SELECT id, tenant_id, reason, requested_by, requested_at, state, deleted::text, key_destroyed_at, certificate,
                   ledger_written, audited, attempts, last_error, next_attempt_at, completed_at, lease
            FROM purge_jobs \(tail)
            """, binds: bindings), logger: database.logger)
        var jobs: [PurgeJob] = []
        for try await row in rows {
            let c = row.makeRandomAccess()
            guard let reason = PurgeJob.Reason(rawValue: try c[2].decode(String.self)),
                  let state = PurgeJob.State(rawValue: try c[5].decode(String.self)),
                  let deleted = try? JSONDecoder().decode([TenantDataDeletion].self, from: Data(try c[6].decode(String.self).utf8))
            else { throw PurgeFailure("a purge record is unreadable") }
            jobs.append(PurgeJob(
                id: try c[0].decode(UUID.self), tenantID: TenantID(rawValue: try c[1].decode(UUID.self)), reason: reason,
                requestedBy: try c[3].decode(String.self), requestedAt: try c[4].decode(Date.self), state: state, deleted: deleted,
                keyDestroyedAt: try c[7].decode(Date?.self), certificate: try c[8].decode(String?.self), ledgerWritten: try c[9].decode(Bool.self),
                audited: try c[10].decode(Bool.self), attempts: try c[11].decode(Int.self), lastError: try c[12].decode(String?.self),
                nextAttemptAt: try c[13].decode(Date.self), completedAt: try c[14].decode(Date?.self), lease: try c[15].decode(UUID?.self)
            ))
        }
        return jobs
    }
}

/// A purge step that failed; its message is kept on the job and shown to operators.
public struct PurgeFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
