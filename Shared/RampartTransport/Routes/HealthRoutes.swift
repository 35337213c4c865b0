import Foundation
import Hummingbird
import Logging
import RampartStorage

/// `/healthz` (the process is alive), `/readyz` (its dependencies answer) and `/metrics`.
public struct HealthRoutes: Sendable {
    /// One readiness check: a name and whether it currently passes.
    public struct Check: Sendable {
        public let name: String
        public let run: @Sendable () async -> Bool

        public init(name: String, run: @escaping @Sendable () async -> Bool) {
            self.name = name
            self.run = run
        }
    }

    public let checks: [Check]
    public let metrics: RequestMetrics

    public init(checks: [Check], metrics: RequestMetrics) {
        self.checks = checks
        self.metrics = metrics
    }

    /// The checks of a service with a database: reachable, and every migration applied.
    public static func databaseChecks(database: Database, migrations: MigrationRunner) -> [Check] {
        [
            Check(name: "database") { await database.ping() },
            Check(name: "migrations") {
                (try? await migrations.pending(client: database.client, logger: database.logger))?.isEmpty == true
            },
        ]
    }

    struct Status: ResponseEncodable {
        var status: String
        var checks: [String: String]?
    }

    public func register(on router: Router<ServiceRequestContext>) {
        router.get("/healthz") { _, _ in
            Status(status: "ok")
        }
        router.get("/readyz") { _, _ -> EditedResponse<Status> in
            var results: [String: String] = [:]
            for check in checks {
                results[check.name] = await check.run() ? "ok" : "failing"
            }
            let ready = results.values.allSatisfy { $0 == "ok" }
            return EditedResponse(status: ready ? .ok : .serviceUnavailable, response: Status(status: ready ? "ready" : "not_ready", checks: results))
        }
        router.get("/metrics") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: metrics.exposition()))
            )
        }
    }
}
