import Foundation
@testable import Backup
import NIOHTTP1
import RampartCore
import RampartSecurity
import RampartStorage
import RampartTransport
import Testing

/// The recovery drill, on a real cluster with real pgBackRest repositories: backups through the
/// backup service, restores through `rampartctl` to exactly one moment from either repository,
/// verification, and failures that are recorded rather than lost.
@Suite("Backup: point-in-time recovery drill", .serialized)
struct BackupDrillTests {
    let eu = Region(rawValue: "eu")!

    func send(_ pki: TestPKI, as identity: CallerIdentity, _ method: HTTPMethod, _ url: String, json: String? = nil) async throws -> (Int, [String: Any]) {
        let client = InternalClient(tls: try InternalTLS(files: try pki.files(for: identity)))
        defer { Task { try? await client.shutdown() } }
        let reply = try await client.send(method, url: url, body: json.map { Data($0.utf8) })
        return (reply.status, (try? JSONSerialization.jsonObject(with: reply.body) as? [String: Any]) ?? [:])
    }

    /// `rampartctl` with `arguments`, as an operator runs it on the database host.
    func rampartctl(_ arguments: [String]) async throws -> Subprocess.Result {
        try await Subprocess(ServiceProcessTests.binDirectory.appendingPathComponent("rampartctl").path, arguments).run()
    }

    func repositories(_ status: [String: Any]) -> [Int: [String: Any]] {
        Dictionary(uniqueKeysWithValues: ((status["repositories"] as? [[String: Any]]) ?? []).map { ($0["repository"] as? Int ?? 0, $0) })
    }

    @Test func restoresExactlyTheMomentAskedForFromEitherRepository() async throws {
        try await DrillCluster.with { cluster in
            let pki = try TestPKI()
            let clusters = cluster.root.appendingPathComponent("clusters.json")
            try Data(#"{"regions":{"eu":{"pgbackrest_config":"\#(cluster.configPath)","stanza":"\#(DrillCluster.stanza)","os_user":"postgres","database":"postgres","erasure_ledger":"\#(cluster.root.path)/ledger.jsonl"}}}"#.utf8).write(to: clusters)
            try await RunningService.with(
                .backup, region: eu, pki: pki, signingKey: .generate(), database: try await TestDatabase.make(),
                migrations: BackupMigrations.all,
                extraConfig: [
                    "RAMPART_PGBACKREST_CONFIG": cluster.configPath, "RAMPART_PGBACKREST_STANZA": DrillCluster.stanza,
                    "RAMPART_PGBACKREST_USER": "postgres",
                ],
                routes: { router, runtime in
                    try BackupService.register(on: router, runtime: runtime, scheduler: try BackupService.makeScheduler(runtime: runtime))
                }
            ) { service in
                let op = CallerIdentity.operator("alice")
                let base = service.baseURL + "/internal/v1/backup"

                // Before the first backup both repositories are stale.
                let (_, before) = try await send(pki, as: op, .GET, base + "/status")
                #expect(repositories(before)[1]?["stale"] as? Bool == true)
                #expect(repositories(before)[2]?["stale"] as? Bool == true)

                // Only operators start backups.
                let (fromTickets, _) = try await send(pki, as: .service(.tickets, eu), .POST, base + "/runs", json: #"{"repository":1,"type":"full"}"#)
                #expect(fromTickets == 403)
                var labels: [Int: String] = [:]
                for repository in [1, 2] {
                    let (status, run) = try await send(pki, as: op, .POST, base + "/runs", json: #"{"repository":\#(repository),"type":"full"}"#)
                    #expect(status == 201)
                    #expect(run["outcome"] as? String == "success")
                    labels[repository] = try #require(run["label"] as? String)
                }
                let (_, after) = try await send(pki, as: op, .GET, base + "/status")
                for repository in [1, 2] {
                    #expect(repositories(after)[repository]?["stale"] as? Bool == false)
                    #expect((repositories(after)[repository]?["newest"] as? [String: Any])?["label"] as? String == labels[repository])
                }
                #expect((after["recovery_window_days"] as? [String: [Double]])?["repo1"] == [35, 42])

                // A written, the moment T, B written: a restore to T has A and not B.
                _ = try await cluster.sql("CREATE TABLE drill (v text); INSERT INTO drill VALUES ('A')")
                try await Task.sleep(for: .milliseconds(1100))
                let moment = Date()
                try await Task.sleep(for: .milliseconds(1100))
                _ = try await cluster.sql("INSERT INTO drill VALUES ('B')")
                let formatter = ISO8601DateFormatter()
                formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
                for repository in [1, 2] {
                    let scratch = cluster.root.appendingPathComponent("scratch-\(repository)").path
                    let port = try RunningService.freePort()
                    let restored = try await rampartctl([
                        "backup", "restore", "--region", "eu", "--clusters", clusters.path, "--to", formatter.string(from: moment),
                        "--repository", String(repository), "--scratch", scratch, "--port", String(port),
                    ])
                    #expect(restored.status == 0, "\(restored.errorOutput)")
                    let rows = try await cluster.sql("SELECT v FROM drill ORDER BY v", port: port)
                    await cluster.stopScratch(scratch)
                    #expect(rows == ["A"], "repository \(repository)")
                }
                // The source cluster itself still has both.
                #expect(try await cluster.sql("SELECT v FROM drill ORDER BY v") == ["A", "B"])

                // A moment before the first backup cannot be restored, and says so.
                let tooEarly = try await rampartctl([
                    "backup", "restore", "--region", "eu", "--clusters", clusters.path, "--to", formatter.string(from: Date().addingTimeInterval(-3_600)),
                    "--scratch", cluster.root.appendingPathComponent("scratch-early").path, "--port", String(try RunningService.freePort()),
                ])
                #expect(tooEarly.status != 0)
                #expect(tooEarly.errorOutput.contains("at the earliest"))

                let verified = try await rampartctl(["backup", "verify", "--region", "eu", "--clusters", clusters.path])
                #expect(verified.status == 0, "\(verified.errorOutput)")

                // One flipped byte in repo1's newest full backup: verify names the damage in repo1
                // (pgBackRest's own exit status would not), and repo2 still verifies.
                let bundle = cluster.repository.appendingPathComponent("backup/\(DrillCluster.stanza)/\(try #require(labels[1]))/bundle/1").path
                let original = try #require(FileManager.default.contents(atPath: bundle))
                var damaged = original
                damaged[damaged.count / 2] ^= 0xFF
                try damaged.write(to: URL(fileURLWithPath: bundle))
                let refused = try await rampartctl(["backup", "verify", "--region", "eu", "--clusters", clusters.path, "--repository", "1"])
                #expect(refused.status != 0)
                #expect(refused.errorOutput.contains("verification failed") && refused.errorOutput.contains("checksum invalid: 1"), "\(refused.errorOutput)")
                #expect(refused.errorOutput.contains(try #require(labels[1])))
                let offsite = try await rampartctl(["backup", "verify", "--region", "eu", "--clusters", clusters.path, "--repository", "2"])
                #expect(offsite.status == 0, "\(offsite.errorOutput)")
                try original.write(to: URL(fileURLWithPath: bundle))

                // The cluster is down: the run fails, is recorded, and the status names it.
                try await DrillCluster.script("postgres.sh", ["stop", cluster.root.appendingPathComponent("pg").path])
                let (failed, problem) = try await send(pki, as: op, .POST, base + "/runs", json: #"{"repository":1,"type":"diff"}"#)
                #expect(failed == 502)
                #expect(problem["code"] as? String == "backup_failed")
                let (_, runs) = try await send(pki, as: op, .GET, base + "/runs?limit=5")
                let newest = try #require((runs["data"] as? [[String: Any]])?.first)
                #expect(newest["repository"] as? Int == 1)
                #expect(newest["outcome"] as? String == "failure")
                #expect(((runs["data"] as? [[String: Any]]) ?? []).filter { $0["outcome"] as? String == "success" }.count == 2)
                let (_, afterFailure) = try await send(pki, as: op, .GET, base + "/status")
                #expect(repositories(afterFailure)[1]?["last_failure"] is [String: Any])
            }
        }
    }

    /// Runs SQL text with several statements (a migration's, functions included) as the superuser.
    func psql(_ cluster: DrillCluster, _ text: String) async throws {
        let result = try await Subprocess("/usr/bin/psql", [cluster.superuser.urlString, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", text]).run()
        guard result.status == 0 else { throw TestSetupError("psql: \(result.errorOutput)") }
    }

    @Test func aRestoreBringsBackNeitherAPurgedTenantsRowsNorItsReadableData() async throws {
        try await DrillCluster.with { cluster in
            let keyring = TenantKeyring(keys: .generate(), store: try FileKeyStore(directory: cluster.root.appendingPathComponent("keystore")))
            let purged = TenantID.random(), kept = TenantID.random()
            // A service's schema as its migrations build it: row-level security and the purge function.
            let context = MigrationContext(schema: SQLIdentifier("drill_tickets")!, runtimeRole: SQLIdentifier("drill_app")!, relayRole: nil)
            try await psql(cluster, """
                CREATE ROLE drill_app NOLOGIN;
                CREATE SCHEMA drill_tickets;
                CREATE TABLE drill_tickets.notes (id uuid PRIMARY KEY, tenant_id uuid NOT NULL, body bytea NOT NULL);
                \(context.tenantIsolation(table: "notes"))
                \(context.tenantPurge(tables: ["notes"]))
                """)
            for tenant in [purged, kept] {
                let id = UUID()
                let sealed = try await keyring.seal(Data("note of \(tenant)".utf8), tenant: tenant,
                                                    context: SealContext(table: "notes", column: "body", rowID: id.uuidString))
                let hex = sealed.map { String(format: "%02x", $0) }.joined()
                _ = try await cluster.sql("INSERT INTO drill_tickets.notes VALUES ('\(id)', '\(tenant)', decode('\(hex)', 'hex'))")
            }
            let pgBackRest = PgBackRest(configPath: cluster.configPath, stanza: DrillCluster.stanza, osUser: "postgres")
            _ = try await pgBackRest.backup(repository: 1, type: .full)
            try await Task.sleep(for: .milliseconds(1100))
            let moment = Date()
            try await Task.sleep(for: .milliseconds(1100))

            // The purge, as backup carries it out: rows deleted, key destroyed, ledger written.
            try await psql(cluster, "SELECT drill_tickets.purge_tenant('\(purged)')")
            try await keyring.destroy(purged)
            let ledger = cluster.root.appendingPathComponent("ledger.jsonl").path
            try ErasureLedger(path: ledger).append(.init(kind: "tenant", id: purged.rawValue, region: eu, erasedAt: Date(), certificateSHA256: "00"))
            #expect(try await cluster.sql("SELECT count(*)::text FROM drill_tickets.notes WHERE tenant_id = '\(purged)'") == ["0"])

            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            func restore(ledger: String) async throws -> (port: Int, scratch: String) {
                let clusters = cluster.root.appendingPathComponent("clusters-\(UUID().uuidString.prefix(6)).json")
                try Data(#"{"regions":{"eu":{"pgbackrest_config":"\#(cluster.configPath)","stanza":"\#(DrillCluster.stanza)","os_user":"postgres","database":"postgres","erasure_ledger":"\#(ledger)"}}}"#.utf8)
                    .write(to: clusters)
                let scratch = cluster.root.appendingPathComponent("scratch-\(UUID().uuidString.prefix(6))").path
                let port = try RunningService.freePort()
                let restored = try await rampartctl([
                    "backup", "restore", "--region", "eu", "--clusters", clusters.path, "--to", formatter.string(from: moment),
                    "--scratch", scratch, "--port", String(port),
                ])
                #expect(restored.status == 0, "\(restored.errorOutput)")
                return (port, scratch)
            }
            func body(of tenant: TenantID, port: Int) async throws -> (id: String, sealed: Data)? {
                let rows = try await cluster.sql("SELECT id::text || ' ' || encode(body, 'hex') FROM drill_tickets.notes WHERE tenant_id = '\(tenant)'", port: port)
                guard let row = rows.first?.split(separator: " "), row.count == 2 else { return nil }
                let hex = Array(row[1])
                let bytes = stride(from: 0, to: hex.count, by: 2).map { UInt8(String(hex[$0..<$0 + 2]), radix: 16)! }
                return (String(row[0]), Data(bytes))
            }

            // With the ledger replayed, the purged tenant's rows are gone again; the other tenant's remain and open.
            let replayed = try await restore(ledger: ledger)
            #expect(try await body(of: purged, port: replayed.port) == nil)
            let keptRow = try #require(try await body(of: kept, port: replayed.port))
            let opened = try await keyring.open(keptRow.sealed, tenant: kept, context: SealContext(table: "notes", column: "body", rowID: keptRow.id.uppercased()))
            #expect(String(decoding: opened, as: UTF8.self) == "note of \(kept)")
            await cluster.stopScratch(replayed.scratch)

            // Even a restore that skipped the ledger yields nothing readable: the key is destroyed.
            let unreplayed = try await restore(ledger: cluster.root.appendingPathComponent("empty-ledger.jsonl").path)
            let purgedRow = try #require(try await body(of: purged, port: unreplayed.port))
            await #expect(throws: EnvelopeError.tenantKeyDestroyed) {
                _ = try await keyring.open(purgedRow.sealed, tenant: purged, context: SealContext(table: "notes", column: "body", rowID: purgedRow.id.uppercased()))
            }
            await cluster.stopScratch(unreplayed.scratch)

            // A restore whose cluster map names no ledger is refused before anything is touched.
            let bare = cluster.root.appendingPathComponent("clusters-bare.json")
            try Data(#"{"regions":{"eu":{"pgbackrest_config":"\#(cluster.configPath)","stanza":"\#(DrillCluster.stanza)","os_user":"postgres"}}}"#.utf8).write(to: bare)
            let refused = try await rampartctl([
                "backup", "restore", "--region", "eu", "--clusters", bare.path, "--to", formatter.string(from: moment),
                "--scratch", cluster.root.appendingPathComponent("scratch-bare").path, "--port", String(try RunningService.freePort()),
            ])
            #expect(refused.status != 0)
            #expect(refused.errorOutput.contains("erasure_ledger"))
            #expect(!FileManager.default.fileExists(atPath: cluster.root.appendingPathComponent("scratch-bare").path))
        }
    }
}
