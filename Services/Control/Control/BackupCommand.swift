import ArgumentParser
import Foundation
import NIOHTTP1
import RampartCore
import RampartStorage

/// `rampartctl backup`: the state of a region's backups and a backup on demand (through the
/// backup service), and the acts that need the database host itself: verifying the
/// repositories and restoring to a moment, side by side or in place; and the erasure ledger's
/// replay over the network, for clusters restored by other means (Kubernetes).
struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Backups, verification and point-in-time restores of a region's database.",
        subcommands: [Status.self, Run.self, Runs.self, Verify.self, Restore.self, ReplayLedger.self]
    )

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Each repository's newest backup, freshness and restorable span.")
        @OptionGroup var connection: OperatorOptions
        @Option(help: "The region.") var region: String

        func run() async throws {
            print(OperatorClient.render(try await OperatorClient.call(connection, .GET, .backup, region: region, path: "/internal/v1/backup/status")))
        }
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Take a backup now (recorded like a scheduled one).")
        @OptionGroup var connection: OperatorOptions
        @Option(help: "The region.") var region: String
        @Option(help: "1 (in-region) or 2 (off-site).") var repository: Int = 1
        @Option(help: "full, diff or incr.") var type: String = "full"

        func run() async throws {
            let body: [String: Any] = ["repository": repository, "type": type]
            print(OperatorClient.render(try await OperatorClient.call(connection, .POST, .backup, region: region, path: "/internal/v1/backup/runs", body: body)))
        }
    }

    struct Runs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The newest backup runs and how they ended.")
        @OptionGroup var connection: OperatorOptions
        @Option(help: "The region.") var region: String
        @Option(help: "How many runs (1-500).") var limit: Int = 20

        func run() async throws {
            print(OperatorClient.render(try await OperatorClient.call(connection, .GET, .backup, region: region, path: "/internal/v1/backup/runs?limit=\(limit)")))
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Read every backup and archived WAL file back and check it (on the database host).")
        @OptionGroup var cluster: ClusterOptions
        @Option(help: "Only this repository (1 or 2); both by default.") var repository: Int?

        func run() async throws {
            let target = try cluster.cluster()
            do {
                try await target.pgBackRest.verify(repository: repository)
            } catch let failure as PgBackRest.Failure {
                throw ControlError("backup: verification failed: \(failure.message)")
            }
            print("backup: the repositories of \(cluster.region) (stanza \(target.pgBackRest.stanza)) verified")
        }
    }

    struct ReplayLedger: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "replay-ledger",
            abstract: "Replay an erasure ledger on a region database restored by other means (Kubernetes: the replay-erasure-ledger Job).",
            discussion: """
            Every purged tenant is purged again and every erased person erased again, as \
            `backup restore` does after its own restores; connects as a superuser over TCP.
            """
        )
        @Option(help: "File holding a superuser postgres:// URL; without it, the environment's RAMPART_SUPERUSER_URL.") var superuserUrlFile: String?
        @Option(help: "The region.") var region: String
        @Option(help: "The region's database; rampart_<region> by default.") var database: String?
        @Option(help: "The region's erasure ledger (JSON Lines).") var ledger: String

        func run() async throws {
            let text = try superuserUrlFile.map { file in
                guard let text = SecretFile.read(file) else { throw ControlError("cannot read \(file)") }
                return text
            } ?? ProcessInfo.processInfo.environment["RAMPART_SUPERUSER_URL"]
            guard let text else { throw ControlError("give --superuser-url-file or RAMPART_SUPERUSER_URL") }
            guard Region(rawValue: region) != nil else { throw ControlError("unknown region \(region)") }
            let database = database ?? "rampart_\(region)"
            var url = try DatabaseURL(parsing: text.trimmingCharacters(in: .whitespacesAndNewlines), key: "--superuser-url-file")
            url.database = database
            let replayed = try await LedgerReplay.replay(ErasureLedger(path: ledger), superuser: url)
            print("backup: erasure ledger replayed on \(database) (\(replayed) erasure(s))")
        }
    }

    struct Restore: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Restore a region's database to a moment (on the database host).",
            discussion: """
            Side by side (--scratch DIR --port N): a new cluster in DIR, recovered to exactly --to and \
            started on 127.0.0.1:N, for copying one tenant's rows back without touching the others. \
            In place (--in-place --confirm-discard): the region's cluster itself is stopped, rewound to \
            --to and started again; every change after --to is gone.
            """
        )
        @OptionGroup var cluster: ClusterOptions
        @Option(help: "The moment, ISO 8601 with offset (2026-11-29T10:15:00Z).") var to: String
        @Option(help: "1 (in-region) or 2 (off-site).") var repository: Int = 1
        @Option(help: "An empty or missing directory for a side-by-side cluster.") var scratch: String?
        @Option(help: "The side-by-side cluster's port.") var port: Int?
        @Flag(help: "Restore the region's cluster itself.") var inPlace = false
        @Flag(help: "Confirm that an in-place restore discards every change after --to.") var confirmDiscard = false

        func validate() throws {
            if inPlace {
                guard scratch == nil, port == nil else { throw ValidationError("--in-place takes neither --scratch nor --port") }
                guard confirmDiscard else { throw ValidationError("--in-place discards every change after --to: add --confirm-discard") }
            } else {
                guard scratch != nil, let port, (1024...65535).contains(port) else {
                    throw ValidationError("give --scratch DIR --port N (1024-65535) for a side-by-side restore, or --in-place")
                }
            }
        }

        func run() async throws {
            guard let target = Self.parse(to) else { throw ValidationError("--to must be ISO 8601 with an offset, e.g. 2026-11-29T10:15:00Z") }
            let database = try cluster.cluster()
            let replays = try cluster.ledgerReplays(database)
            let restore = PointInTimeRestore(cluster: database, repository: repository)
            if inPlace {
                try await restore.inPlace(to: target)
                let replayed = try await LedgerReplay.runAll(replays, socketDirectory: database.socketDirectory, port: database.port)
                print("backup: \(cluster.region) restored in place to \(to); erasure ledger replayed (\(replayed) erasure(s))")
            } else if let scratch, let port {
                try await restore.sideBySide(to: target, directory: scratch, port: port)
                let replayed = try await LedgerReplay.runAll(replays, socketDirectory: scratch, port: port)
                print("backup: \(cluster.region) as of \(to) is running in \(scratch) on 127.0.0.1:\(port) (stop it with pg_ctl -D \(scratch) stop); "
                      + "erasure ledger replayed (\(replayed) erasure(s))")
            }
        }

        static func parse(_ text: String) -> Date? {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            if let date = formatter.date(from: text) { return date }
            formatter.formatOptions = [.withInternetDateTime]
            return formatter.date(from: text)
        }
    }
}

/// Which cluster holds a region's database: `clusters.json` maps each region to its pgBackRest
/// configuration and stanza (locally every region shares one cluster).
struct ClusterOptions: ParsableArguments {
    @Option(help: "The region.") var region: String
    @Option(help: "The map of regions to clusters.") var clusters: String = ".run/backup/clusters.json"

    struct Map: Decodable {
        struct Entry: Decodable {
            var pgbackrestConfig: String
            var stanza: String
            var osUser: String?
            /// The region's database in the cluster, and the erasure ledger replayed into it after a restore.
            var database: String?
            var erasureLedger: String?

            enum CodingKeys: String, CodingKey {
                case stanza, database
                case pgbackrestConfig = "pgbackrest_config"
                case osUser = "os_user"
                case erasureLedger = "erasure_ledger"
            }
        }
        var regions: [String: Entry]
    }

    func cluster() throws -> DatabaseCluster {
        let entry = try self.entry()
        return try DatabaseCluster(pgBackRest: PgBackRest(configPath: entry.pgbackrestConfig, stanza: entry.stanza, osUser: entry.osUser))
    }

    /// The erasure-ledger replays a restore of the region's cluster needs: one for every region
    /// whose database lives in that cluster (a restore rewinds them all). A restore is refused
    /// when one is missing or its ledger unreadable, because it could bring purged tenants back.
    func ledgerReplays(_ cluster: DatabaseCluster) throws -> [LedgerReplay] {
        let map = try self.map()
        let entry = try self.entry(in: map)
        return try map.regions.sorted { $0.key < $1.key }
            .filter { $0.value.pgbackrestConfig == entry.pgbackrestConfig && $0.value.stanza == entry.stanza }
            .map { region, shared in
                guard let database = shared.database, let ledger = shared.erasureLedger else {
                    throw ControlError("\(clusters) names no database and erasure_ledger for region \(region): a restore must replay the ledger (run make run again to rewrite it)")
                }
                let replay = LedgerReplay(cluster: cluster, database: database, ledger: ErasureLedger(path: ledger))
                _ = try replay.ledger.entries()
                return replay
            }
    }

    private func map() throws -> Map {
        guard let data = FileManager.default.contents(atPath: clusters), let map = try? JSONDecoder().decode(Map.self, from: data) else {
            throw ControlError("cannot read \(clusters)")
        }
        return map
    }

    private func entry(in map: Map? = nil) throws -> Map.Entry {
        guard let entry = try (map ?? self.map()).regions[region] else { throw ControlError("\(clusters) names no cluster for region \(region)") }
        return entry
    }
}
