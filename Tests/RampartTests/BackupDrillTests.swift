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
@Suite("Backup: point-in-time recovery drill")
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
            try Data(#"{"regions":{"eu":{"pgbackrest_config":"\#(cluster.configPath)","stanza":"\#(DrillCluster.stanza)","os_user":"postgres"}}}"#.utf8).write(to: clusters)
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
}
