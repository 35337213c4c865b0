import AsyncHTTPClient
import Foundation
import Hummingbird
import NIOHTTP1
import RampartCore
import RampartSecurity
import RampartStorage
import RampartTransport
import ServiceLifecycle
@testable import Status
import Synchronization

/// Two regions (eu, us) on real PostgreSQL, each with the five probed services (the shared
/// listener with health and readiness) and a status instance, on fixed ports over mutual TLS.
/// Any instance can be stopped and started again; probe rounds and deliveries are driven by the
/// test, on a clock it sets.
final class StatusFixture: Sendable {
    static let eu = Region(rawValue: "eu")!
    static let us = Region(rawValue: "us")!
    static let regions = [eu, us]
    static let probed: [ServiceName] = [.gateway, .identity, .tickets, .audit, .backup]

    let pki: TestPKI
    let signingKey: PrincipalSigningKey
    let databases: [Region: TestDatabase]
    let ports: [Region: [ServiceName: Int]]
    let endpointsPath: String
    /// Noon UTC today, so a test's rounds never straddle midnight.
    let clock = ManualClock(DayStamp(Date()).start.addingTimeInterval(12 * 3600))

    private struct Running: Sendable {
        let stop: @Sendable () async -> Void
        let status: StatusInstance?
    }
    private let running = Mutex<[String: Running]>([:])

    private init(pki: TestPKI, signingKey: PrincipalSigningKey, databases: [Region: TestDatabase], ports: [Region: [ServiceName: Int]], endpointsPath: String) {
        self.pki = pki
        self.signingKey = signingKey
        self.databases = databases
        self.ports = ports
        self.endpointsPath = endpointsPath
    }

    /// Starts every instance of both regions, runs `body`, stops them all.
    static func with<R: Sendable>(_ body: @Sendable (StatusFixture) async throws -> R) async throws -> R {
        let pki = try TestPKI()
        var databases: [Region: TestDatabase] = [:]
        var ports: [Region: [ServiceName: Int]] = [:]
        for region in regions {
            databases[region] = try await TestDatabase.make(region: region)
            ports[region] = Dictionary(uniqueKeysWithValues: try ServiceName.allCases.map { ($0, try RunningService.freePort()) })
        }
        let document = ["regions": Dictionary(uniqueKeysWithValues: regions.map { region in
            (region.rawValue, Dictionary(uniqueKeysWithValues: ServiceName.allCases.map { ($0.rawValue, "https://127.0.0.1:\(ports[region]?[$0] ?? 0)") }))
        })]
        let endpoints = pki.directory.appendingPathComponent("endpoints.json")
        try JSONSerialization.data(withJSONObject: document).write(to: endpoints)
        let fixture = StatusFixture(pki: pki, signingKey: .generate(), databases: databases, ports: ports, endpointsPath: endpoints.path)
        do {
            for region in regions {
                for service in probed + [.status] { try await fixture.start(service, in: region) }
            }
            let result = try await body(fixture)
            await fixture.stopAll()
            return result
        } catch {
            await fixture.stopAll()
            throw error
        }
    }

    /// The configuration of `service` in `region`, as `rampartctl local init` writes it.
    func config(_ service: ServiceName, in region: Region) throws -> ServiceConfig {
        let jwks = pki.directory.appendingPathComponent("jwks.json")
        if !FileManager.default.fileExists(atPath: jwks.path) { try signingKey.publicKeySet.jwks().write(to: jwks) }
        var values = try RunningService.configValues(service: service, region: region, port: ports[region]?[service] ?? 0, pki: pki,
                                                     jwksPath: jwks.path, database: databases[region], signingKey: signingKey)
        values["RAMPART_REGIONS"] = Self.regions.map(\.rawValue).joined(separator: ",")
        if service == .status {
            values["RAMPART_STATUS_ENDPOINTS"] = endpointsPath
            values["RAMPART_STATUS_PROBE_INTERVAL_SECONDS"] = "1"
            // Slowness is judged by StatusHysteresisTests at exact latencies; here a probe slowed
            // by the loaded test machine must not read as degraded performance.
            values["RAMPART_STATUS_LATENCY_THRESHOLD_MS"] = "15000"
            values["RAMPART_STATUS_PUBLIC_URL"] = "https://status.localhost:8443"
        }
        return try ServiceConfig(service: service, source: ConfigSource(values: values))
    }

    /// Starts one instance on its fixed port.
    func start(_ service: ServiceName, in region: Region) async throws {
        let config = try config(service, in: region)
        let runtime = try await StartupGate.pass { try await ServiceRuntime.prepare(config: config, migrations: service == .status ? StatusMigrations.all : []) }
        let status: StatusInstance? = service == .status
            ? try StatusInstance(runtime: runtime, settings: try StatusSettings(config: config), clock: clock, pageFreshness: .zero, databaseWait: .seconds(1))
            : nil
        let app: any Service = try ServiceApplication.build(runtime: runtime) { router in status?.register(on: router) }
        let group = ServiceGroup(configuration: .init(services: [app], logger: runtime.logger))
        let task = Task { try await group.run() }
        try await RunningService.waitUntilListening(port: config.listenPort)
        running.withLock {
            $0["\(service)-\(region)"] = Running(stop: {
                await group.triggerGracefulShutdown()
                _ = await task.result
                if let status {
                    try? await status.prober.client.shutdown()
                    try? await status.replicator.client.shutdown()
                }
            }, status: status)
        }
    }

    /// Stops one instance; its port refuses connections afterwards.
    func stop(_ service: ServiceName, in region: Region) async {
        let instance = running.withLock { $0.removeValue(forKey: "\(service)-\(region)") }
        await instance?.stop()
    }

    func stopAll() async {
        let all = running.withLock { current in
            defer { current = [:] }
            return Array(current.values)
        }
        for instance in all { await instance.stop() }
    }

    /// The running status instance of `region`.
    func status(_ region: Region) throws -> StatusInstance {
        guard let instance = running.withLock({ $0["status-\(region)"]?.status }) else { throw TestSetupError("status-\(region) is not running") }
        return instance
    }

    /// `count` probe rounds of `region`'s status instance.
    @discardableResult
    func probe(_ region: Region, rounds count: Int = 2) async throws -> [Component: ComponentStatus] {
        let instance = try status(region)
        var published: [Component: ComponentStatus] = [:]
        for _ in 0..<count {
            published = await instance.prober.round()
            clock.advance(by: 30)
        }
        return published
    }

    struct Reply {
        let status: Int
        let headers: HTTPHeaders
        let body: Data
        var text: String { String(decoding: body, as: UTF8.self) }
        var json: JSONValue? { try? JSONValue.parse(body) }
    }

    /// One request to `region`'s status instance as `identity` (the gateway, by default, as public traffic arrives).
    func send(_ region: Region, _ method: HTTPMethod = .GET, _ path: String, as identity: CallerIdentity? = nil, json: String? = nil) async throws -> Reply {
        let client = InternalClient(tls: try InternalTLS(files: try pki.files(for: identity ?? .service(.gateway, region))))
        do {
            let reply = try await client.send(method, url: "https://127.0.0.1:\(ports[region]?[.status] ?? 0)\(path)", body: json.map { Data($0.utf8) })
            try await client.shutdown()
            return Reply(status: reply.status, headers: reply.headers, body: reply.body)
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    /// Makes the status service's own database unreachable for it (its role may not log in and its
    /// connections are closed), runs `body`, and lets it back in.
    func withStatusDatabaseBlocked<R: Sendable>(_ region: Region, _ body: @Sendable () async throws -> R) async throws -> R {
        guard let database = databases[region] else { throw TestSetupError("no database for \(region)") }
        let role = try database.roles(.status).runtime
        try await setLogin(false, role: role, database: database)
        do {
            let result = try await body()
            try await setLogin(true, role: role, database: database)
            return result
        } catch {
            try? await setLogin(true, role: role, database: database)
            throw error
        }
    }

    private func setLogin(_ allowed: Bool, role: SQLIdentifier, database: TestDatabase) async throws {
        try await database.with(database.superuser) { client in
            try await client.query("ALTER ROLE \(unescaped: role.quoted) \(unescaped: allowed ? "LOGIN" : "NOLOGIN")", logger: TestDatabase.logger)
            if !allowed {
                try await client.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = \(role.name)", logger: TestDatabase.logger)
            }
        }
    }
}
