import Crypto
import Foundation
import Logging
import NIOHTTP1
import RampartCore
import RampartSecurity
import RampartStorage
import RampartTransport
import ServiceLifecycle

/// Purges cancelled tenants of the region: when their grace period has ended, or at once when an
/// operator says so. A purge asks every service holding tenant rows to delete them, destroys the
/// tenant's data key (crypto-shredding: every copy of its sealed data, backups and off-site
/// copies included, becomes unreadable), signs a deletion certificate, writes the erasure ledger
/// and sends the certificate to audit. A failed step is recorded, reported and retried with
/// backoff; it is never skipped.
public struct TenantPurger: Service {
    /// Services holding tenant rows, asked in this order: identity last, because it holds the
    /// tenant's registry row and with it the record that the tenant was cancelled.
    public static let dataServices: [ServiceName] = [.tickets, .identity]
    /// How long a run holds a purge before another may take it over; each recorded step renews it.
    static let lease: TimeInterval = 600

    let jobs: PurgeJobRepository
    let region: Region
    /// This region's service URLs.
    let endpoints: [ServiceName: String]
    let tls: InternalTLS
    let keyring: TenantKeyring
    let signingKey: PrincipalSigningKey
    let ledger: ErasureLedger
    let logger: Logger
    let checkInterval: Duration
    /// The tenant's export archives, deleted with its rows; `nil` when exports are not configured.
    let exporter: TenantExporter?
    /// Decides what is due (grace periods, retries); what happened is recorded at the real time.
    let clock: @Sendable () -> Date

    public init(jobs: PurgeJobRepository, region: Region, endpoints: [ServiceName: String], tls: InternalTLS, keyring: TenantKeyring,
                signingKey: PrincipalSigningKey, ledger: ErasureLedger, logger: Logger, checkInterval: Duration,
                exporter: TenantExporter? = nil, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.jobs = jobs
        self.region = region
        self.endpoints = endpoints
        self.tls = tls
        self.keyring = keyring
        self.signingKey = signingKey
        self.ledger = ledger
        self.logger = logger
        self.checkInterval = checkInterval
        self.exporter = exporter
        self.clock = clock
    }

    public func run() async throws {
        await Periodic.run(every: checkInterval) { await self.tick() }
    }

    /// Starts the purge of every tenant whose grace period has ended, then advances every purge due.
    public func tick() async {
        do {
            try await withClient { client in
                for tenant in try await cancelledTenants(client) where tenant.purgeAfter <= clock() {
                    _ = try await jobs.findOrCreate(tenant: tenant.id, reason: .gracePeriodEnded, requestedBy: "system", at: clock())
                }
                while let job = try await jobs.claimDue(at: clock(), lease: Self.lease) {
                    _ = await advance(job, client)
                }
            }
        } catch {
            logger.error("purge.sweep_failed", metadata: ["error": "\(Self.describe(error))"])
        }
    }

    /// Runs `body` with a client of its own, closed afterwards: purges are rare, connections are not kept.
    private func withClient<R>(_ body: (InternalClient) async throws -> R) async throws -> R {
        try await RegionServices.withClient(tls: tls, body)
    }

    /// An operator's purge of `tenant`: refused unless the tenant is cancelled and, without
    /// `immediately`, its grace period is over. Runs at once; what fails is retried later.
    public func request(tenant: TenantID, immediately: Bool, operatorName: String) async throws -> PurgeJob {
        if let existing = try await jobs.find(tenant: tenant), existing.state != .abandoned { return existing }
        return try await withClient { client in try await request(tenant: tenant, immediately: immediately, operatorName: operatorName, client) }
    }

    private func request(tenant: TenantID, immediately: Bool, operatorName: String, _ client: InternalClient) async throws -> PurgeJob {
        guard let state = try await tenantState(tenant, client) else {
            throw ProblemError(status: .notFound, code: "tenant_not_found", title: "Unknown tenant", detail: "No tenant with this id in region \(region).")
        }
        guard state.status == "cancelled", let purgeAfter = state.purgeAfter else {
            throw ProblemError(status: .conflict, code: "tenant_not_cancelled", title: "Tenant not cancelled",
                               detail: "Cancel the tenant first (rampartctl tenant cancel); it is \(state.status).")
        }
        guard immediately || purgeAfter <= clock() else {
            throw ProblemError(status: .conflict, code: "grace_period", title: "Grace period not over",
                               detail: "The tenant's data is kept until \(purgeAfter.ISO8601Format()); purge it before only with --immediately.")
        }
        let (job, _) = try await jobs.findOrCreate(tenant: tenant, reason: immediately ? .immediately : .gracePeriodEnded,
                                                   requestedBy: "operator:\(operatorName)", at: clock())
        // Claimed like the sweeper claims it: if a sweep got there first, it runs the purge.
        guard let claimed = try await jobs.claim(job.id, at: clock(), lease: Self.lease) else { return job }
        return await advance(claimed, client)
    }

    /// Runs the job's remaining steps in order, recording each as it succeeds. `start` is the
    /// copy of the job its claim returned: once another run has claimed the job (this one's
    /// lease ran out), this one stops at its next record and leaves the job to that run.
    func advance(_ start: PurgeJob, _ client: InternalClient) async -> PurgeJob {
        var job = start
        job.attempts += 1
        /// Records a finished step and renews the lease.
        func record() async throws {
            job.nextAttemptAt = clock().addingTimeInterval(Self.lease)
            try await jobs.save(job)
        }
        /// Another run has claimed the job since: it records from now on, this one stops.
        func leaseLost() {
            logger.warning("purge.lease_lost", metadata: ["tenant": "\(job.tenantID)", "attempt": "\(job.attempts)"])
        }
        do {
            if job.deleted.isEmpty, let status = try await startPurge(job.tenantID, client) {
                job.state = .abandoned
                job.lastError = "the tenant was reinstated (\(status)) before anything was deleted"
                try await jobs.save(job)
                logger.warning("purge.abandoned", metadata: ["tenant": "\(job.tenantID)"])
                return job
            }
            // Backup's own rows first: the tenant's export archives, which no one may download any more.
            if let exporter, !job.deleted.contains(where: { $0.service == ServiceName.backup.rawValue }) {
                job.deleted.append(try await exporter.purge(job.tenantID))
                try await record()
            }
            for service in Self.dataServices where !job.deleted.contains(where: { $0.service == service.rawValue }) {
                job.deleted.append(try await deleteData(of: job.tenantID, in: service, client))
                try await record()
            }
            if job.keyDestroyedAt == nil {
                try await keyring.destroy(job.tenantID)
                job.keyDestroyedAt = Date()
                try await record()
            }
            let certificate = try job.certificate.map(DeletionCertificate.Signed.parse) ?? (try issueCertificate(for: job))
            if job.certificate == nil {
                job.certificate = try certificate.compactJSON()
                try await record()
            }
            if !job.ledgerWritten {
                try ledger.append(.init(kind: "tenant", id: job.tenantID.rawValue, region: region, erasedAt: certificate.certificate.keyDestroyedAt,
                                        certificateSHA256: Self.sha256(job.certificate ?? "")))
                job.ledgerWritten = true
                try await record()
            }
            if !job.audited {
                try await sendToAudit(job, certificate: certificate, client)
                job.audited = true
            }
            job.state = .completed
            job.completedAt = Date()
            job.lastError = nil
            logger.notice("purge.completed", metadata: ["tenant": "\(job.tenantID)", "reason": "\(job.reason.rawValue)"])
        } catch is PurgeJobRepository.LeaseLost {
            leaseLost()
            return job
        } catch {
            job.lastError = Self.describe(error)
            job.nextAttemptAt = clock().addingTimeInterval(min(30 * pow(2, Double(min(job.attempts, 12) - 1)), 3_600))
            logger.error("purge.step_failed", metadata: ["tenant": "\(job.tenantID)", "attempt": "\(job.attempts)", "error": "\(job.lastError ?? "")"])
        }
        do {
            try await jobs.save(job)
        } catch is PurgeJobRepository.LeaseLost {
            leaseLost()
        } catch {
            // The lease runs out and the next sweep resumes from the last recorded step.
            logger.error("purge.record_failed", metadata: ["tenant": "\(job.tenantID)", "error": "\(Self.describe(error))"])
        }
        return job
    }

    func issueCertificate(for job: PurgeJob) throws -> DeletionCertificate.Signed {
        guard let destroyed = job.keyDestroyedAt else { throw PurgeFailure("no certificate before the key is destroyed") }
        return try DeletionCertificate(
            tenantID: job.tenantID, region: region, reason: job.reason, requestedBy: job.requestedBy, requestedAt: job.requestedAt,
            deleted: job.deleted, keyDestroyedAt: destroyed, issuedAt: Date()
        ).signed(with: signingKey)
    }

    // MARK: The region's services

    struct TenantState: Decodable {
        var status: String
        var purgeAfter: Date?
        enum CodingKeys: String, CodingKey {
            case status
            case purgeAfter = "purge_after"
        }
    }

    struct CancelledTenant: Decodable {
        var id: TenantID
        var purgeAfter: Date
        enum CodingKeys: String, CodingKey {
            case id
            case purgeAfter = "purge_after"
        }
    }

    /// Tells identity the purge begins, before anything is deleted: from then on the tenant can
    /// no longer be reinstated. Answers the tenant's status when identity refuses because the
    /// tenant is not cancelled any more (the purge is abandoned); `nil` when the purge may go on
    /// (identity no longer has the tenant: an earlier run deleted it there).
    func startPurge(_ tenant: TenantID, _ client: InternalClient) async throws -> String? {
        let reply = try await call(client, .POST, .identity, "/internal/v1/tenants/\(tenant)/purge-start")
        // Only identity's own answers count; anything else (a route it does not have) stops the purge.
        switch (reply.status, Self.problemCode(reply)) {
        case (404, "tenant_not_found"): return nil
        case (409, "invalid_transition"): return try await tenantState(tenant, client)?.status ?? "unknown"
        default:
            try Self.expectSuccess(reply, from: .identity)
            return nil
        }
    }

    /// The tenant as identity holds it; `nil` when identity has no such tenant (never created, or purged).
    func tenantState(_ tenant: TenantID, _ client: InternalClient) async throws -> TenantState? {
        let reply = try await call(client, .GET, .identity, "/internal/v1/tenants/\(tenant)")
        if reply.status == 404 { return nil }
        try Self.expectSuccess(reply, from: .identity)
        return try DeletionCertificate.decoder.decode(TenantState.self, from: reply.body)
    }

    func cancelledTenants(_ client: InternalClient) async throws -> [CancelledTenant] {
        struct List: Decodable { var data: [CancelledTenant] }
        let reply = try await call(client, .GET, .identity, "/internal/v1/tenants/cancelled")
        try Self.expectSuccess(reply, from: .identity)
        return try DeletionCertificate.decoder.decode(List.self, from: reply.body).data
    }

    func deleteData(of tenant: TenantID, in service: ServiceName, _ client: InternalClient) async throws -> TenantDataDeletion {
        let reply = try await call(client, .DELETE, service, "/internal/v1/tenants/\(tenant)/data")
        try Self.expectSuccess(reply, from: service)
        return try JSONDecoder().decode(TenantDataDeletion.self, from: reply.body)
    }

    /// The certificate as an audit event of the purged tenant: no personal data, the signed
    /// certificate verbatim, the job's id as the event id (a resent event is stored once).
    func sendToAudit(_ job: PurgeJob, certificate: DeletionCertificate.Signed, _ client: InternalClient) async throws {
        let isOperator = job.requestedBy.hasPrefix("operator:")
        var event = AuditEvent(
            tenantID: job.tenantID, region: region,
            actor: .init(type: isOperator ? "operator" : "system", id: isOperator ? String(job.requestedBy.dropFirst(9)) : "rampart-backup"),
            action: "tenant.purged", resource: .init(type: "tenant", id: job.tenantID.description), source: "system",
            occurredAt: certificate.certificate.issuedAt, attestation: try certificate.compactJSON()
        )
        event.id = job.id
        let body = try DeletionCertificate.encoder.encode(["events": [event]])
        let reply = try await call(client, .POST, .audit, "/internal/v1/events", body: body)
        try Self.expectSuccess(reply, from: .audit)
    }

    private func call(_ client: InternalClient, _ method: HTTPMethod, _ service: ServiceName, _ path: String, body: Data? = nil) async throws -> InternalClient.Reply {
        guard let base = endpoints[service] else { throw PurgeFailure("no URL of \(service) in region \(region)") }
        do {
            return try await client.send(method, url: base + path, body: body)
        } catch {
            throw PurgeFailure("\(service) did not answer (\(type(of: error)))")
        }
    }

    static func expectSuccess(_ reply: InternalClient.Reply, from service: ServiceName) throws {
        guard (200..<300).contains(reply.status) else {
            throw PurgeFailure("\(service) answered \(reply.status)\(problemCode(reply).map { " (\($0))" } ?? "")")
        }
    }

    /// The `code` of a problem document answered, if any.
    static func problemCode(_ reply: InternalClient.Reply) -> String? {
        struct Problem: Decodable { var code: String? }
        return (try? JSONDecoder().decode(Problem.self, from: reply.body))?.code
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case let failure as PurgeFailure: failure.description
        case let failure as ErasureLedger.LedgerError: "erasure ledger: \(failure.description)"
        case let failure as EnvelopeError: "key store: \(failure)"
        default: "\(type(of: error))"
        }
    }

    static func sha256(_ text: String) -> String {
        Hex.encode(SHA256.hash(data: Data(text.utf8)))
    }
}
