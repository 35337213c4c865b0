import Crypto
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import RampartCore
import RampartSecurity
import RampartStorage
import RampartTransport
import ServiceLifecycle
import Synchronization

/// A service instance on loopback, built exactly as its executable builds it, for the length of a test.
struct RunningService {
    let baseURL: String
    let config: ServiceConfig
    /// Starts the graceful shutdown a SIGTERM would start.
    let shutdown: @Sendable () async -> Void

    /// The repository's shipped allow-list.
    static var allowListPath: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Deploy/policy/allowlist.yaml").path
    }

    /// Configuration values for `service` in `region`, as `rampartctl local init` writes them.
    static func configValues(
        service: ServiceName, region: Region, port: Int, pki: TestPKI, jwksPath: String, database: TestDatabase?,
        signingKey: PrincipalSigningKey = .generate(), auditURL: String? = nil
    ) throws -> [String: String] {
        let tls = try pki.files(for: .service(service, region))
        var values = [
            "RAMPART_REGION": region.rawValue,
            "RAMPART_LISTEN_PORT": String(port),
            "RAMPART_TLS_CA": tls.caCertificatePath,
            "RAMPART_TLS_CERT": tls.certificatePath,
            "RAMPART_TLS_KEY": tls.privateKeyPath,
            "RAMPART_ALLOWLIST": allowListPath,
            "RAMPART_PRINCIPAL_KEYS": jwksPath,
            "RAMPART_LOG_LEVEL": TestDatabase.logLevel.rawValue,
        ]
        if service == .identity || service == .tickets || service == .audit || service == .backup {
            // One region's key store, shared as in an installation: audit seals with the key identity created.
            values["RAMPART_KEK_FILE"] = pki.kekPath
            values["RAMPART_KEYSTORE_DIR"] = pki.keyStorePath
        }
        if service == .identity {
            values["RAMPART_PRINCIPAL_SIGNING_KEY"] = try writeFile(pki, "signing.json", signingKey.fileContents())
            values["RAMPART_API_KEY_HASH_KEY"] = try writeFile(pki, "api-key-hash.key", Data(SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }.base64EncodedString().utf8))
            values["RAMPART_ARGON2_MEMORY_KIB"] = "64"
            values["RAMPART_ARGON2_ITERATIONS"] = "1"
            // OpenID Connect providers in tests serve certificates of the test CA.
            values["RAMPART_OIDC_CA_FILE"] = pki.caPath
        }
        if service == .status {
            // Every instance of every default region, on a port nothing listens on: probes find them down.
            let regions = Dictionary(uniqueKeysWithValues: Region.defaults.map { region in
                (region.rawValue, Dictionary(uniqueKeysWithValues: ServiceName.allCases.map { ($0.rawValue, "https://127.0.0.1:1") }))
            })
            values["RAMPART_STATUS_ENDPOINTS"] = try writeFile(pki, "endpoints.json", try JSONSerialization.data(withJSONObject: ["regions": regions]))
        }
        if service == .audit {
            values["RAMPART_AUDIT_SIGNING_KEY"] = pki.auditSigningKeyPath
        }
        if let database, service.ownsSchema {
            values["RAMPART_DATABASE_URL"] = try database.url(service, owner: false).urlString
            values["RAMPART_MIGRATION_DATABASE_URL"] = try database.url(service, owner: true).urlString
        }
        if let database, let auditURL, service.hasOutbox {
            values["RAMPART_OUTBOX_DATABASE_URL"] = try database.databases.relayURL(service: service, region: region, database: database.name).urlString
            values["RAMPART_AUDIT_URL"] = auditURL
        }
        return values
    }

    static func writeFile(_ pki: TestPKI, _ name: String, _ data: Data) throws -> String {
        let url = pki.directory.appendingPathComponent("\(UUID().uuidString.prefix(8))-\(name)")
        try data.write(to: url)
        return url.path
    }

    /// Runs `service` with its real pipeline plus `routes` and long-lived `services` (the outbox
    /// relay, audit's scheduler), calls `body`, then shuts it down gracefully. `port` fixes the
    /// listening port (a service others were told about before it started); `auditURL` turns on
    /// the outbox relay of a service with an outbox.
    static func with<R: Sendable>(
        _ service: ServiceName, region: Region, pki: TestPKI, signingKey: PrincipalSigningKey,
        database: TestDatabase?, migrations: [Migration] = [], extraConfig: [String: String] = [:],
        port fixedPort: Int? = nil, auditURL: String? = nil,
        services: @escaping @Sendable (ServiceRuntime) throws -> [any Service] = { _ in [] },
        routes: @escaping @Sendable (Router<ServiceRequestContext>, ServiceRuntime) throws -> Void = { _, _ in },
        _ body: @escaping @Sendable (RunningService) async throws -> R
    ) async throws -> R {
        // A port chosen free can be taken by another test before this service binds it: then the
        // service starts again on another one (a fixed port is the caller's to keep).
        var attempt = 1
        while true {
            do {
                return try await start(service, region: region, pki: pki, signingKey: signingKey, database: database, migrations: migrations,
                                       extraConfig: extraConfig, port: try fixedPort ?? freePort(), auditURL: auditURL,
                                       services: services, routes: routes, body)
            } catch let error as IOError where error.errnoCode == EADDRINUSE && fixedPort == nil && attempt < 5 {
                attempt += 1
            }
        }
    }

    private static func start<R: Sendable>(
        _ service: ServiceName, region: Region, pki: TestPKI, signingKey: PrincipalSigningKey,
        database: TestDatabase?, migrations: [Migration], extraConfig: [String: String], port: Int, auditURL: String?,
        services: @escaping @Sendable (ServiceRuntime) throws -> [any Service],
        routes: @escaping @Sendable (Router<ServiceRequestContext>, ServiceRuntime) throws -> Void,
        _ body: @escaping @Sendable (RunningService) async throws -> R
    ) async throws -> R {
        let jwks = pki.directory.appendingPathComponent("jwks-\(UUID().uuidString).json")
        try signingKey.publicKeySet.jwks().write(to: jwks)
        let values = try configValues(service: service, region: region, port: port, pki: pki, jwksPath: jwks.path, database: database,
                                      signingKey: signingKey, auditURL: auditURL)
            .merging(extraConfig) { _, extra in extra }
        let config = try ServiceConfig(service: service, source: ConfigSource(values: values))
        let runtime = try await StartupGate.pass { try await ServiceRuntime.prepare(config: config, migrations: migrations) }
        // The listener reports its own bind: a port taken meanwhile by another test's service
        // fails this start instead of sending the test to that service.
        let (bound, boundContinuation) = AsyncStream<Void>.makeStream()
        let app = try ServiceApplication.build(runtime: runtime, services: try services(runtime), routes: { try routes($0, runtime) },
                                               onListening: { boundContinuation.yield() })
        let serviceGroup = ServiceGroup(configuration: .init(services: [app], logger: runtime.logger))
        let running = RunningService(baseURL: "https://127.0.0.1:\(port)", config: config, shutdown: { await serviceGroup.triggerGracefulShutdown() })
        return try await withThrowingTaskGroup(of: R?.self) { group in
            group.addTask {
                defer { boundContinuation.finish() }
                try await serviceGroup.run()
                return nil
            }
            var listening = false
            for await _ in bound {
                listening = true
                break
            }
            guard listening else {
                for try await _ in group {}
                throw TestSetupError("\(service) did not start listening on \(port)")
            }
            do {
                let result = try await body(running)
                await serviceGroup.triggerGracefulShutdown()
                for try await _ in group {}
                return result
            } catch {
                await serviceGroup.triggerGracefulShutdown()
                throw error
            }
        }
    }

    /// A TCP port that was free a moment ago, for a test's listener. It lies below the kernel's
    /// ephemeral range, so none of the suite's outgoing connections (thousands, each taking an
    /// ephemeral local port) can take it before the listener binds it; and one run never hands
    /// the same port out twice, so parallel tests do not collide either.
    static func freePort() throws -> Int {
        for _ in 0..<500 {
            let port = Int.random(in: listenerPorts)
            guard handedOut.withLock({ $0.insert(port).inserted }) else { continue }
            if let socket = try? ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: port).wait() {
                try socket.close().wait()
                return port
            }
        }
        throw TestSetupError("no free port")
    }

    /// From 10000 up to the start of the kernel's ephemeral range (`ip_local_port_range`).
    private static let listenerPorts: ClosedRange<Int> = {
        let range = try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)
        let ephemeralStart = range?.split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) } ?? 32768
        return 10000...max(ephemeralStart - 1, 20000)
    }()

    private static let handedOut = Mutex<Set<Int>>([])

    static func waitUntilListening(port: Int) async throws {
        for _ in 0..<200 {
            if let channel = try? await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: port).get() {
                try? await channel.close()
                return
            }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw TestSetupError("service did not start listening on \(port)")
    }
}
