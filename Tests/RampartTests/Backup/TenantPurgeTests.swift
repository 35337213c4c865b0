import Foundation
import NIOHTTP1
import PostgresNIO
@testable import Audit
@testable import Backup
@testable import Control
@testable import Identity
import RampartCore
import RampartSecurity
import RampartStorage
import RampartTransport
import ServiceLifecycle
import Synchronization
@testable import Tickets
import Testing

/// A clock a test moves forward by days.
final class MovableClock: Sendable {
    private let offset = Mutex<TimeInterval>(0)
    func advance(days: Double) { offset.withLock { $0 += days * 86_400 } }
    var now: Date { Date().addingTimeInterval(offset.withLock { $0 }) }
}

@Suite("Tenant purge: grace period, deletion in every service, crypto-shredding, ledger, signed certificate")
struct TenantPurgeTests {
    let eu = Region(rawValue: "eu")!

    /// identity, tickets and audit (with their outbox relays) and backup's purger and data-subject
    /// requests, on one region database.
    struct Region1: Sendable {
        let database: TestDatabase
        let pki: TestPKI
        let audit: AuditFixture
        let identity: RunningService
        let tickets: RunningService
        let backup: RunningService
        let purger: TenantPurger
        let exporter: TenantExporter
        let clock: MovableClock
        let ledgerPath: String
        let certificateKey: PrincipalSigningKey
        let principalKey: PrincipalSigningKey

        func send(_ caller: CallerIdentity, _ method: HTTPMethod, _ url: String, json: String? = nil, principal: String? = nil) async throws -> (Int, [String: Any]) {
            let client = InternalClient(tls: try InternalTLS(files: try pki.files(for: caller)))
            defer { Task { try? await client.shutdown() } }
            let reply = try await client.send(method, url: url, principal: principal, body: json.map { Data($0.utf8) })
            return (reply.status, (try? JSONSerialization.jsonObject(with: reply.body)) as? [String: Any] ?? [:])
        }

        /// Rows of `tenant` in every table with a `tenant_id` column of `schema`, by table (tables with none left out).
        func rows(of tenant: String, in schema: String) async throws -> [String: Int64] {
            let tables: [String] = try await audit.superuserValues("""
                SELECT c.relname::text FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = '\(schema)' AND c.relkind = 'r' AND a.attname = 'tenant_id'
                """)
            var counts: [String: Int64] = [:]
            for table in tables {
                let count: [Int64] = try await audit.superuserValues("SELECT count(*) FROM \(schema).\(table) WHERE tenant_id = '\(tenant)'")
                if let count = count.first, count > 0 { counts[table] = count }
            }
            return counts
        }
    }

    func withRegion<R: Sendable>(_ body: @escaping @Sendable (Region1) async throws -> R) async throws -> R {
        let database = try await TestDatabase.make()
        let pki = try TestPKI()
        let auditPort = try RunningService.freePort()
        let endpoints = pki.directory.appendingPathComponent("endpoints-purge.json")
        let certificateKey = PrincipalSigningKey.generate()
        let keyFile = pki.directory.appendingPathComponent("deletion-certificate.json")
        try certificateKey.fileContents().write(to: keyFile)
        let ledgerPath = pki.directory.appendingPathComponent("ledger/eu.jsonl").path
        let clock = MovableClock()
        let principalKey = PrincipalSigningKey.generate()
        let auditURL = "https://127.0.0.1:\(auditPort)"
        let relay: @Sendable (ServiceRuntime) throws -> [any Service] = { OutboxRelay.services(for: $0, settings: OutboxRelayTests.fast) }
        let purgerBox = Mutex<(TenantPurger, TenantExporter)?>(nil)
        return try await AuditFixture.with(database: database, pki: pki, port: auditPort) { audit in
            try await RunningService.with(
                .identity, region: eu, pki: pki, signingKey: principalKey, database: database, migrations: IdentityMigrations.all,
                auditURL: auditURL, services: relay,
                routes: { router, runtime in try IdentityService.register(on: router, runtime: runtime, keys: try IdentityKeys(config: runtime.config)) }
            ) { identity in
                try await RunningService.with(
                    .tickets, region: eu, pki: pki, signingKey: principalKey, database: database, migrations: TicketsMigrations.all,
                    auditURL: auditURL, services: relay,
                    routes: { router, runtime in try TicketsService.register(on: router, runtime: runtime, keyring: try TenantKeyring.load(config: runtime.config)) }
                ) { tickets in
                    // Backup learns the region's services from an endpoints file, as installed;
                    // the ports are the ones the services took (chosen late, so no other test takes them).
                    var urls = Dictionary(uniqueKeysWithValues: ServiceName.allCases.map { ($0.rawValue, "https://127.0.0.1:1") })
                    urls["audit"] = audit.audit.baseURL
                    urls["identity"] = identity.baseURL
                    urls["tickets"] = tickets.baseURL
                    try JSONSerialization.data(withJSONObject: ["regions": ["eu": urls]]).write(to: endpoints)
                    return try await RunningService.with(
                        .backup, region: eu, pki: pki, signingKey: principalKey, database: database, migrations: BackupMigrations.all,
                        extraConfig: [
                            "RAMPART_BACKUP_ENDPOINTS": endpoints.path, "RAMPART_BACKUP_SIGNING_KEY": keyFile.path, "RAMPART_ERASURE_LEDGER": ledgerPath,
                            "RAMPART_EXPORT_DIR": pki.directory.appendingPathComponent("exports").path,
                        ],
                        routes: { router, runtime in
                            let exporter = try BackupService.makeExporter(runtime: runtime, clock: { clock.now })
                            let purger = try BackupService.makePurger(runtime: runtime, exporter: exporter, clock: { clock.now })
                            purgerBox.withLock { $0 = try? (#require(purger), #require(exporter)) }
                            try BackupService.register(on: router, runtime: runtime, scheduler: nil, purger: purger,
                                                       dataRequests: try BackupService.makeDataRequests(runtime: runtime), exporter: exporter)
                        }
                    ) { backup in
                        let (purger, exporter) = try #require(purgerBox.withLock { $0 })
                        return try await body(Region1(database: database, pki: pki, audit: audit, identity: identity, tickets: tickets, backup: backup,
                                                      purger: purger, exporter: exporter, clock: clock, ledgerPath: ledgerPath, certificateKey: certificateKey,
                                                      principalKey: principalKey))
                    }
                }
            }
        }
    }

    /// A tenant with an admin and a ticket holding a sealed subject and body; returns its id.
    func tenantWithData(_ region: Region1, slug: String) async throws -> String {
        let op = CallerIdentity.operator("alice")
        let (created, tenant) = try await region.send(op, .POST, region.identity.baseURL + "/internal/v1/operator/tenants",
                                                       json: #"{"slug":"\#(slug)","display_name":"\#(slug)"}"#)
        #expect(created == 201)
        let id = try #require(tenant["id"] as? String)
        let (user, _) = try await region.send(op, .POST, region.identity.baseURL + "/internal/v1/operator/tenants/\(slug)/users",
                                              json: #"{"email":"ada@\#(slug).test","name":"Ada","role":"admin"}"#)
        #expect(user == 201)
        let principal = Principal(tenantID: try #require(TenantID(id)), tenantSlug: try #require(TenantSlug(rawValue: slug)), region: eu,
                                  subject: "user:\(UUID().uuidString.lowercased())", kind: .admin, roles: ["admin"],
                                  scopes: ["tickets:read", "tickets:write"], authenticationMethod: .password)
        let token = try PrincipalToken.sign(principal, audience: .tickets, key: region.principalKey)
        let (ticket, reply) = try await region.send(.service(.gateway, eu), .POST, region.tickets.baseURL + "/api/v1/tickets",
                                                    json: #"{"subject":"Invoice for \#(slug)","message":{"body":"Card on file, address on file."}}"#,
                                                    principal: token)
        #expect(ticket == 201, "\(reply)")
        return id
    }

    /// Waits until the relays have carried every outbox event to audit (a purge waits for that too).
    func outboxesDrained(_ region: Region1) async throws -> Bool {
        try await OutboxRelayTests.eventually {
            let pending: [Int64] = try await region.audit.superuserValues(
                "SELECT (SELECT count(*) FROM identity.outbox_events) + (SELECT count(*) FROM tickets.outbox_events)")
            return pending == [0]
        }
    }

    @Test func aCancelledTenantIsPurgedEverywhereOnlyAfterItsGracePeriodWithASignedCertificate() async throws {
        try await withRegion { region in
            let acme = try await tenantWithData(region, slug: "acme")
            let globex = try await tenantWithData(region, slug: "globex")
            let acmeID = try #require(TenantID(acme)), globexID = try #require(TenantID(globex))
            #expect(try await outboxesDrained(region))
            #expect(try await region.rows(of: acme, in: "tickets")["tickets"] == 1)
            let op = CallerIdentity.operator("alice")
            let purges = region.backup.baseURL + "/internal/v1/backup/purges"

            // An active tenant cannot be purged; only operators start purges.
            let (active, activeProblem) = try await region.send(op, .POST, purges, json: #"{"tenant_id":"\#(acme)"}"#)
            #expect(active == 409)
            #expect(activeProblem["code"] as? String == "tenant_not_cancelled")
            let (fromTickets, _) = try await region.send(.service(.tickets, eu), .POST, purges, json: #"{"tenant_id":"\#(acme)","immediately":true}"#)
            #expect(fromTickets == 403)
            // Nor can another service delete a tenant's rows directly.
            let (direct, _) = try await region.send(.service(.gateway, eu), .DELETE, region.tickets.baseURL + "/internal/v1/tenants/\(acme)/data")
            #expect(direct == 403)

            // Cancelled: access stops at once, data is kept for the grace period.
            let (cancelled, tenant) = try await region.send(op, .POST, region.identity.baseURL + "/internal/v1/operator/tenants/acme/cancel")
            #expect(cancelled == 200)
            let purgeAfter = try #require((tenant["purge_after"] as? String).flatMap { try? Date($0, strategy: .iso8601) })
            #expect(abs(purgeAfter.timeIntervalSinceNow - 60 * 86_400) < 300)
            let (early, earlyProblem) = try await region.send(op, .POST, purges, json: #"{"tenant_id":"\#(acme)"}"#)
            #expect(early == 409)
            #expect(earlyProblem["code"] as? String == "grace_period")

            // Day 59: the sweep leaves it alone. Day 61: it is purged.
            region.clock.advance(days: 59)
            await region.purger.tick()
            #expect(try await region.purger.jobs.find(tenant: acmeID) == nil)
            #expect(try await region.rows(of: acme, in: "tickets")["tickets"] == 1)
            // A failing step (the ledger cannot be written) is recorded and retried, not skipped.
            try FileManager.default.createDirectory(atPath: region.ledgerPath, withIntermediateDirectories: true)
            region.clock.advance(days: 2)
            await region.purger.tick()
            let failed = try #require(try await region.purger.jobs.find(tenant: acmeID))
            #expect(failed.state == .running)
            #expect(failed.lastError?.contains("erasure ledger") == true, "\(failed.lastError ?? "")")
            #expect(failed.keyDestroyedAt != nil)
            try FileManager.default.removeItem(atPath: region.ledgerPath)
            region.clock.advance(days: 1)
            await region.purger.tick()
            let job = try #require(try await region.purger.jobs.find(tenant: acmeID))
            #expect(job.state == .completed, "\(job.lastError ?? "")")
            #expect(job.attempts == 2)
            #expect(job.reason == .gracePeriodEnded)
            #expect(job.deleted.map(\.service) == ["backup", "tickets", "identity"])

            // Nothing of acme is left in identity or tickets; globex is untouched.
            #expect(try await region.rows(of: acme, in: "tickets").isEmpty)
            #expect(try await region.rows(of: acme, in: "identity").isEmpty)
            #expect(try await region.audit.superuserValues("SELECT count(*) FROM identity.tenants WHERE id = '\(acme)'", as: Int64.self) == [0])
            #expect(try await region.rows(of: globex, in: "tickets")["tickets"] == 1)
            #expect(try await region.rows(of: globex, in: "identity")["users"] == 1)

            // Crypto-shredded: acme's key is destroyed, globex's lives.
            let keyring = try region.audit.keyring
            #expect(try await keyring.isDestroyed(acmeID))
            #expect(try await keyring.hasLiveKey(globexID))

            // The ledger outside the database names acme with the certificate's hash.
            let entries = try ErasureLedger(path: region.ledgerPath).entries()
            #expect(entries.map(\.id.uuidString).map { $0.lowercased() } == [acme])
            let certificateText = try #require(job.certificate)
            #expect(entries.first?.certificateSHA256 == TenantPurger.sha256(certificateText))

            // The signed certificate is in acme's audit chain, verifiable, and the chain still verifies.
            let records: [String] = try await region.audit.superuserValues(
                "SELECT record FROM audit.events WHERE tenant_id = '\(acme)' AND action = 'tenant.purged'")
            let record = try AuditRecord(canonicalJSON: try #require(records.first))
            let certificate = try DeletionCertificate.Signed.parse(try #require(record.attestation))
            #expect(certificate.isValid(under: region.certificateKey.publicKeySet))
            #expect(!certificate.isValid(under: PrincipalSigningKey.generate().publicKeySet))
            #expect(certificate.certificate.tenantID.description == acme)
            #expect(certificate.certificate.deleted.first { $0.service == "tickets" }?.deleted["tickets"] == 1)
            #expect(certificate.certificate.deleted.first { $0.service == "identity" }?.deleted["users"] == 1)
            #expect(record.personal == nil)
            var tampered = certificate
            tampered.certificate.deleted = []
            #expect(!tampered.isValid(under: region.certificateKey.publicKeySet))
            let kept: [Int64] = try await region.audit.superuserValues("SELECT count(*) FROM audit.deletion_certificates WHERE tenant_id = '\(acme)'")
            #expect(kept == [1])
            #expect(try await region.audit.verify(acmeID).broken == nil)

            // Asking again changes nothing; reinstating a purged tenant is impossible.
            let (again, repeated) = try await region.send(op, .POST, purges, json: #"{"tenant_id":"\#(acme)","immediately":true}"#)
            #expect(again == 200)
            #expect((repeated["id"] as? String)?.lowercased() == job.id.uuidString.lowercased())
            let (reinstate, _) = try await region.send(op, .POST, region.identity.baseURL + "/internal/v1/operator/tenants/acme/reinstate")
            #expect(reinstate == 404)
        }
    }

    @Test func immediatelySkipsTheGracePeriodAndAReinstatedTenantIsNotPurged() async throws {
        try await withRegion { region in
            let acme = try await tenantWithData(region, slug: "acme")
            let initech = try await tenantWithData(region, slug: "initech")
            let initechID = try #require(TenantID(initech))
            #expect(try await outboxesDrained(region))
            let op = CallerIdentity.operator("alice")
            let purges = region.backup.baseURL + "/internal/v1/backup/purges"
            for slug in ["acme", "initech"] {
                let (cancelled, _) = try await region.send(op, .POST, region.identity.baseURL + "/internal/v1/operator/tenants/\(slug)/cancel")
                #expect(cancelled == 200)
            }
            // Reinstated within the grace period: kept, and the sweep after the period leaves it.
            let (reinstated, _) = try await region.send(op, .POST, region.identity.baseURL + "/internal/v1/operator/tenants/initech/reinstate")
            #expect(reinstated == 200)
            #expect(try await outboxesDrained(region))
            let (status, job) = try await region.send(op, .POST, purges, json: #"{"tenant_id":"\#(acme)","immediately":true}"#)
            #expect(status == 200, "\(job)")
            #expect(job["state"] as? String == "completed")
            #expect(job["reason"] as? String == "immediately")
            #expect((job["certificate"] as? String)?.contains("operator:alice") == true)
            #expect(try await region.rows(of: acme, in: "tickets").isEmpty)
            region.clock.advance(days: 90)
            await region.purger.tick()
            #expect(try await region.purger.jobs.find(tenant: initechID) == nil)
            #expect(try await region.rows(of: initech, in: "tickets")["tickets"] == 1)
            let (_, list) = try await region.send(op, .GET, purges)
            #expect((list["data"] as? [[String: Any]])?.count == 1)

            // A purge whose tenant was reinstated before anything was deleted is abandoned, and
            // starts over when the tenant is cancelled and purged again.
            _ = try await region.purger.jobs.findOrCreate(tenant: initechID, reason: .gracePeriodEnded, requestedBy: "system", at: region.clock.now)
            await region.purger.tick()
            #expect(try await region.purger.jobs.find(tenant: initechID)?.state == .abandoned)
            #expect(try await region.rows(of: initech, in: "tickets")["tickets"] == 1)
            let (recancelled, _) = try await region.send(op, .POST, region.identity.baseURL + "/internal/v1/operator/tenants/initech/cancel")
            #expect(recancelled == 200)
            #expect(try await outboxesDrained(region))
            let (restarted, restartedJob) = try await region.send(op, .POST, purges, json: #"{"tenant_id":"\#(initech)","immediately":true}"#)
            #expect(restarted == 200)
            #expect(restartedJob["state"] as? String == "completed")
            #expect(try await region.rows(of: initech, in: "tickets").isEmpty)
        }
    }

    /// A reinstatement and a purge's start that meet: exactly one happens. The purge tells
    /// identity it begins before deleting anything; from then on the tenant stays cancelled.
    @Test func aReinstatementAndThePurgesStartNeverBothHappen() async throws {
        try await withRegion { region in
            let acme = try await tenantWithData(region, slug: "acme")
            let acmeID = try #require(TenantID(acme))
            #expect(try await outboxesDrained(region))
            let op = CallerIdentity.operator("alice")
            let lifecycle = region.identity.baseURL + "/internal/v1/operator/tenants/acme/"
            let lockTenant = "SELECT 1 FROM identity.tenants WHERE id = '\(acme)' FOR UPDATE"
            #expect(try await region.send(op, .POST, lifecycle + "cancel").0 == 200)
            #expect(try await outboxesDrained(region))

            // The reinstatement commits while the purge is on its way: the purge is abandoned and deletes nothing.
            _ = try await region.purger.jobs.findOrCreate(tenant: acmeID, reason: .immediately, requestedBy: "operator:alice", at: region.clock.now)
            let (_, reinstatedFirst) = try await region.database.whileLocked(lockTenant, waiters: 1, then: { connection in
                try await connection.query(PostgresQuery(unsafeSQL: """
                    UPDATE identity.tenants SET status = 'active', purge_after = NULL WHERE id = '\(acme)'
                    """), logger: TestDatabase.logger)
            }) { await region.purger.tick() }
            #expect(reinstatedFirst, "the purge reached the tenant being reinstated")
            #expect(try await region.purger.jobs.find(tenant: acmeID)?.state == .abandoned)
            #expect(try await region.rows(of: acme, in: "tickets")["tickets"] == 1)
            #expect(try await region.rows(of: acme, in: "identity")["users"] == 1)

            // The purge's start commits while an operator reinstates: the reinstatement is refused, the purge runs.
            #expect(try await region.send(op, .POST, lifecycle + "cancel").0 == 200)
            #expect(try await outboxesDrained(region))
            let (refusal, purgeFirst) = try await region.database.whileLocked(lockTenant, waiters: 1, then: { connection in
                try await connection.query(PostgresQuery(unsafeSQL: "UPDATE identity.tenants SET purge_started_at = now() WHERE id = '\(acme)'"),
                                           logger: TestDatabase.logger)
            }) { () -> String in
                let (status, problem) = try await region.send(op, .POST, lifecycle + "reinstate")
                return "\(status) \(problem["code"] as? String ?? "")"
            }
            #expect(purgeFirst, "the reinstatement reached the tenant being purged")
            #expect(refusal == "409 tenant_purge_started")
            let (purged, job) = try await region.send(op, .POST, region.backup.baseURL + "/internal/v1/backup/purges", json: #"{"tenant_id":"\#(acme)","immediately":true}"#)
            #expect(purged == 200, "\(job)")
            #expect(job["state"] as? String == "completed")
            #expect(try await region.rows(of: acme, in: "tickets").isEmpty)
        }
    }

    /// A run of the purger whose lease ran out (a step took longer than the lease) while another
    /// took the purge over records nothing more: the purge has one history and one certificate.
    @Test func aRunWhoseLeaseRanOutRecordsNothingOnceAnotherTookThePurge() async throws {
        try await withRegion { region in
            let acme = try await tenantWithData(region, slug: "acme")
            let acmeID = try #require(TenantID(acme))
            #expect(try await outboxesDrained(region))
            #expect(try await region.send(.operator("alice"), .POST, region.identity.baseURL + "/internal/v1/operator/tenants/acme/cancel").0 == 200)
            #expect(try await outboxesDrained(region))
            let jobs = region.purger.jobs
            _ = try await jobs.findOrCreate(tenant: acmeID, reason: .immediately, requestedBy: "operator:alice", at: region.clock.now)
            let first = try #require(try await jobs.claimDue(at: region.clock.now, lease: TenantPurger.lease))
            // Held: neither a sweep nor an operator's request takes it meanwhile.
            #expect(try await jobs.claimDue(at: region.clock.now, lease: TenantPurger.lease) == nil)
            #expect(try await jobs.claim(first.id, at: region.clock.now, lease: TenantPurger.lease) == nil)

            region.clock.advance(days: 1)
            let second = try #require(try await jobs.claimDue(at: region.clock.now, lease: TenantPurger.lease))
            #expect(second.id == first.id && second.lease != first.lease)
            let (stale, resumed) = try await RegionServices.withClient(tls: region.purger.tls) { client in
                (await region.purger.advance(first, client), await region.purger.advance(second, client))
            }
            #expect(stale.state == .running, "the run that lost its lease stopped")
            #expect(resumed.state == .completed)
            let stored = try #require(try await jobs.find(id: first.id))
            #expect(stored.state == .completed)
            #expect(stored.attempts == 1, "only the run holding the purge recorded an attempt")
            #expect(stored.certificate == resumed.certificate)
            let entries = try ErasureLedger(path: region.ledgerPath).entries()
            #expect(entries.map(\.id.uuidString).map { $0.lowercased() } == [acme])
            #expect(entries.first?.certificateSHA256 == TenantPurger.sha256(try #require(stored.certificate)))
        }
    }
}
