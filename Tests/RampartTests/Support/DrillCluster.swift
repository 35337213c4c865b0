import Foundation
import PostgresNIO
import RampartCore
import RampartStorage

/// A PostgreSQL cluster of its own with WAL archiving into pgBackRest's two encrypted
/// repositories (repo1 a directory, repo2 a local S3 store over TLS), set up by the same scripts
/// `make run` uses, for the length of a test.
struct DrillCluster: Sendable {
    static let stanza = "drill"

    let root: URL
    let configPath: String
    let superuser: DatabaseURL
    let repository: URL

    static var deployDirectory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Deploy/local")
    }

    /// Runs a deploy script; a failure carries its output.
    @discardableResult
    static func script(_ name: String, _ arguments: [String]) async throws -> String {
        let result = try await Subprocess(deployDirectory.appendingPathComponent(name).path, arguments).run()
        guard result.status == 0 else { throw TestSetupError("\(name) \(arguments.first ?? "") failed: \(result.errorOutput)\(result.output)") }
        return result.output
    }

    static func with<R: Sendable>(_ body: @Sendable (DrillCluster) async throws -> R) async throws -> R {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("rampart-drill-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        let pg = root.appendingPathComponent("pg").path, s3 = root.appendingPathComponent("s3").path
        let secrets = root.appendingPathComponent("secrets").path
        func tearDown() async {
            _ = try? await script("offsite-s3.sh", ["stop", s3])
            _ = try? await script("postgres.sh", ["stop", pg])
            if let location = try? await script("postgres.sh", ["location", pg]).trimmingCharacters(in: .whitespacesAndNewlines) {
                try? FileManager.default.removeItem(atPath: location)
            }
            try? FileManager.default.removeItem(at: root)
        }
        do {
            try await script("postgres.sh", ["start", pg, String(try RunningService.freePort()), secrets])
            try await script("offsite-s3.sh", ["start", s3, "0"])
            let config = try await script("pgbackrest.sh", ["configure", pg, secrets, stanza, s3 + "/s3.env"])
                .split(separator: "\n").last.map(String.init) ?? ""
            let url = try String(contentsOfFile: secrets + "/pg-superuser.url", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            let cluster = DrillCluster(
                root: root, configPath: config, superuser: try DatabaseURL(parsing: url, key: "drill"),
                repository: URL(fileURLWithPath: config).deletingLastPathComponent().appendingPathComponent("repo1")
            )
            let result = try await body(cluster)
            await tearDown()
            return result
        } catch {
            await tearDown()
            throw error
        }
    }

    /// The S3 store's directory, to stop it mid-test.
    var s3Directory: String { root.appendingPathComponent("s3").path }

    /// Runs SQL as the superuser, on this cluster or on one restored from it listening on `port`.
    func sql(_ text: String, port: Int? = nil) async throws -> [String] {
        var url = superuser
        if let port { url.port = port }
        return try await Database.withTemporaryClient(url, logger: TestDatabase.logger, timeout: .seconds(60)) { client in
            var values: [String] = []
            for statement in text.split(separator: ";").map({ $0.trimmingCharacters(in: .whitespacesAndNewlines) }) where !statement.isEmpty {
                let rows = try await client.query(PostgresQuery(unsafeSQL: statement), logger: TestDatabase.logger)
                for try await row in rows {
                    if let value = try? row.decode(String?.self) { values.append(value ?? "") }
                }
            }
            return values
        }
    }

    /// Stops a cluster restored side by side into `directory`.
    func stopScratch(_ directory: String) async {
        let version = (try? String(contentsOfFile: directory + "/PG_VERSION", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "15"
        _ = try? await Subprocess.asUser("postgres", "/usr/lib/postgresql/\(version)/bin/pg_ctl", ["-D", directory, "-m", "fast", "-w", "stop"]).run()
    }
}
