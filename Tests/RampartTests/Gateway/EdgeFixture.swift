import Crypto
import Foundation
@testable import Gateway
import Hummingbird
@testable import Identity
import Logging
import RampartCore
import RampartSecurity
import RampartStorage
import RampartTransport
import ServiceLifecycle
import Synchronization

/// A running edge for the gateway tests: identity in eu and us (each with its own region
/// database), an eu tickets instance whose `/api/v1/tickets/echo` reports what it received, and
/// the gateway with its public HTTPS and redirect listeners on loopback. Started once and shared
/// by the suite; everything runs until the test process ends.
struct EdgeFixture: Sendable {
    let pki: TestPKI
    let httpsPort: Int
    let redirectPort: Int
    let identityEU: String
    let identityUS: String
    /// The eu tickets instance (its `/api/v1/tickets/echo`).
    let ticketsEU: String
    let operatorTLS: InternalTLS
    let accessLog: CapturedLines
    /// An API key of `acme` (eu) with `tickets:read`.
    let acmeKey: String
    let acmePassword = "violet submarine harbour 42"

    static let eu = Region(rawValue: "eu")!
    static let us = Region(rawValue: "us")!

    /// The shared instance.
    static let shared = Task<EdgeFixture, any Error> { try await start() }

    /// Lines written to an ``AccessLog`` in tests.
    final class CapturedLines: Sendable {
        private let lines = Mutex<[String]>([])
        var sink: JSONLogHandler.Sink { JSONLogHandler.Sink { line in self.lines.withLock { $0.append(line) } } }
        var all: [String] { lines.withLock { $0 } }
    }

    static func start() async throws -> EdgeFixture {
        let pki = try TestPKI()
        let signingKey = PrincipalSigningKey.generate()
        let identityRoutes: @Sendable (Router<ServiceRequestContext>, ServiceRuntime) throws -> Void = { router, runtime in
            try IdentityService.register(on: router, runtime: runtime, keys: try IdentityKeys(config: runtime.config))
        }
        async let euPending = TestDatabase.make(region: eu)
        async let usDatabase = TestDatabase.make(region: us)
        let euDatabase = try await euPending
        let identityEU = try await RunningService.start(.identity, region: eu, pki: pki, signingKey: signingKey, database: euDatabase,
                                                        migrations: IdentityMigrations.all, routes: identityRoutes)
        let identityUS = try await RunningService.start(.identity, region: us, pki: pki, signingKey: signingKey, database: try await usDatabase,
                                                        migrations: IdentityMigrations.all, routes: identityRoutes)
        let ticketsEU = try await RunningService.start(.tickets, region: eu, pki: pki, signingKey: signingKey, database: euDatabase, routes: { router, _ in
            EchoRoutes.register(on: router)
        })
        let operatorTLS = try InternalTLS(files: try pki.files(for: .operator("tests")))

        // Tenants: acme and beta in eu, with an admin each and an API key for acme.
        let client = InternalClient(tls: operatorTLS)
        defer { Task { try? await client.shutdown() } }
        let base = identityEU + "/internal/v1/operator/tenants"
        for slug in ["acme", "beta"] {
            _ = try await client.send(.POST, url: base, body: Data(#"{"slug":"\#(slug)","display_name":"\#(slug)"}"#.utf8))
            _ = try await client.send(.POST, url: base + "/\(slug)/users",
                                      body: Data(#"{"email":"ada@\#(slug).test","name":"Ada","role":"admin","password":"violet submarine harbour 42"}"#.utf8))
        }
        let key = try await client.send(.POST, url: base + "/acme/api-keys", body: Data(#"{"user_email":"ada@acme.test","name":"edge","scopes":["tickets:read"]}"#.utf8))
        guard let keyJSON = try JSONSerialization.jsonObject(with: key.body) as? [String: Any], let acmeKey = keyJSON["key"] as? String else {
            throw TestSetupError("could not create the acme API key (status \(key.status))")
        }

        let closedPort = try RunningService.freePort()
        let endpoints: [String: Any] = ["regions": [
            "eu": ["identity": identityEU, "tickets": ticketsEU, "audit": "https://127.0.0.1:\(closedPort)"],
            "us": ["identity": identityUS],
        ]]
        let accessLog = CapturedLines()
        let (httpsPort, redirectPort) = try await startGateway(
            pki: pki, signingKey: signingKey, endpoints: endpoints, policy: try policy(), accessLog: AccessLog(sink: accessLog.sink)
        )
        return EdgeFixture(pki: pki, httpsPort: httpsPort, redirectPort: redirectPort, identityEU: identityEU, identityUS: identityUS,
                           ticketsEU: ticketsEU, operatorTLS: operatorTLS, accessLog: accessLog, acmeKey: acmeKey)
    }

    /// The shipped edge policy with test-sized limits: bodies of 4 KiB (default, read whole) and
    /// 64 KiB (upload, streamed), 32 headers of at most 8 KiB, the given time, connection and
    /// stream limits.
    static func policy(
        headerTimeoutMilliseconds: Int = 10000, bodyTimeoutMilliseconds: Int = 15000, idleTimeoutMilliseconds: Int = 60000,
        responseTimeoutMilliseconds: Int = 30000, connectionsPerIP: Int = 64, writeTimeoutMilliseconds: Int = 30000,
        maxConcurrentStreams: Int = 100
    ) throws -> String {
        let shipped = try String(contentsOfFile: shippedPolicyPath, encoding: .utf8)
        return shipped
            .replacingOccurrences(of: "default: 1048576", with: "default: 4096")
            .replacingOccurrences(of: "upload: 26214400", with: "upload: 65536")
            .replacingOccurrences(of: "inspect_body_bytes: 1048576", with: "inspect_body_bytes: 16384")
            .replacingOccurrences(of: "max_header_bytes: 16384", with: "max_header_bytes: 8192")
            .replacingOccurrences(of: "max_header_count: 64", with: "max_header_count: 32")
            .replacingOccurrences(of: "header_read_timeout_ms: 10000", with: "header_read_timeout_ms: \(headerTimeoutMilliseconds)")
            .replacingOccurrences(of: "idle_timeout_ms: 60000", with: "idle_timeout_ms: \(idleTimeoutMilliseconds)")
            .replacingOccurrences(of: "body_read_timeout_ms: 15000", with: "body_read_timeout_ms: \(bodyTimeoutMilliseconds)")
            .replacingOccurrences(of: "max_connections_per_ip: 64", with: "max_connections_per_ip: \(connectionsPerIP)")
            .replacingOccurrences(of: "write_timeout_ms: 30000", with: "write_timeout_ms: \(writeTimeoutMilliseconds)")
            .replacingOccurrences(of: "max_concurrent_streams: 100", with: "max_concurrent_streams: \(maxConcurrentStreams)")
            .replacingOccurrences(of: "connect_timeout_ms: 2000", with: "connect_timeout_ms: 5000")
            .replacingOccurrences(of: "response_timeout_ms: 30000", with: "response_timeout_ms: \(responseTimeoutMilliseconds)")
    }

    static var shippedPolicyPath: String {
        URL(fileURLWithPath: RunningService.allowListPath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("gateway/edge.yaml").path
    }

    /// Configuration of an eu gateway fronting eu and us with its public listeners, and its
    /// (internal, https, redirect) ports.
    static func gatewayValues(pki: TestPKI, signingKey: PrincipalSigningKey, endpoints: [String: Any], policy: String,
                              rateLimits: String? = nil) throws -> (values: [String: String], ports: (Int, Int, Int)) {
        let directory = pki.directory.appendingPathComponent("edge-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let usGateway = try pki.ca.issue(identity: .service(.gateway, us))
        try usGateway.certificatePEM().write(to: directory.appendingPathComponent("gateway-us.crt"), atomically: true, encoding: .utf8)
        try usGateway.privateKeyPEM.write(to: directory.appendingPathComponent("gateway-us.key"), atomically: true, encoding: .utf8)
        let edge = try pki.ca.issueServer(dnsNames: ["*.eu.localhost", "*.us.localhost", "status.localhost", "localhost"])
        try edge.certificatePEM().write(to: directory.appendingPathComponent("public.crt"), atomically: true, encoding: .utf8)
        try edge.privateKeyPEM.write(to: directory.appendingPathComponent("public.key"), atomically: true, encoding: .utf8)
        try JSONSerialization.data(withJSONObject: endpoints).write(to: directory.appendingPathComponent("endpoints.json"))
        try policy.write(to: directory.appendingPathComponent("edge.yaml"), atomically: true, encoding: .utf8)
        let jwks = directory.appendingPathComponent("jwks.json")
        try signingKey.publicKeySet.jwks().write(to: jwks)

        let (internalPort, httpsPort, redirectPort) = (try RunningService.freePort(), try RunningService.freePort(), try RunningService.freePort())
        var values = try RunningService.configValues(service: .gateway, region: eu, port: internalPort, pki: pki, jwksPath: jwks.path, database: nil)
        values["RAMPART_REGIONS"] = "us,eu,uk"
        values["RAMPART_PUBLIC_HOST"] = "127.0.0.1"
        values["RAMPART_PUBLIC_PORT"] = String(httpsPort)
        values["RAMPART_PUBLIC_REDIRECT_PORT"] = String(redirectPort)
        values["RAMPART_PUBLIC_TLS_CERT"] = directory.appendingPathComponent("public.crt").path
        values["RAMPART_PUBLIC_TLS_KEY"] = directory.appendingPathComponent("public.key").path
        values["RAMPART_EDGE_POLICY"] = directory.appendingPathComponent("edge.yaml").path
        values["RAMPART_UPSTREAMS"] = directory.appendingPathComponent("endpoints.json").path
        values["RAMPART_EDGE_REGIONS"] = "eu,us"
        values["RAMPART_EDGE_PKI_DIR"] = directory.path
        let deploy = URL(fileURLWithPath: shippedPolicyPath).deletingLastPathComponent().deletingLastPathComponent()
        values["RAMPART_WAF_RULES"] = deploy.appendingPathComponent("waf/rules.yaml").path
        values["RAMPART_WAF_POLICY"] = deploy.appendingPathComponent("waf/policy.yaml").path
        values["RAMPART_RATE_LIMITS"] = deploy.appendingPathComponent("gateway/rate-limits.yaml").path
        if let rateLimits {
            let file = directory.appendingPathComponent("rate-limits.yaml")
            try rateLimits.write(to: file, atomically: true, encoding: .utf8)
            values["RAMPART_RATE_LIMITS"] = file.path
        }
        return (values, (internalPort, httpsPort, redirectPort))
    }

    /// Starts an eu gateway fronting eu and us in this process; returns (https, redirect) ports.
    static func startGateway(pki: TestPKI, signingKey: PrincipalSigningKey, endpoints: [String: Any], policy: String, accessLog: AccessLog,
                             rateLimits: String? = nil) async throws -> (Int, Int) {
        let (values, (_, httpsPort, redirectPort)) = try gatewayValues(pki: pki, signingKey: signingKey, endpoints: endpoints, policy: policy,
                                                                       rateLimits: rateLimits)
        let config = try ServiceConfig(service: .gateway, source: ConfigSource(values: values))
        let app = try await GatewayService.buildApplication(config, accessLog: accessLog)
        let group = ServiceGroup(configuration: .init(services: [app], logger: TestDatabase.logger))
        Task { try await group.run() }
        try await RunningService.waitUntilListening(port: httpsPort)
        try await RunningService.waitUntilListening(port: redirectPort)
        return (httpsPort, redirectPort)
    }
}

/// `/api/v1/tickets/echo` (default body class) and `/api/v1/attachments/echo` (upload class) on
/// the test tickets instance: report what reached the service.
enum EchoRoutes {
    struct Echo: ResponseEncodable {
        var principalTenant: String?
        var principalSubject: String?
        var headers: [String: String]
        var bodyBytes: Int
        /// SHA-256 of the body as the service received it (hex).
        var bodySHA256: String
    }

    static func register(on router: Router<ServiceRequestContext>) {
        let echo: @Sendable (Request, ServiceRequestContext) async throws -> Echo = { request, context in
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName, default: ""] += (headers[field.name.canonicalName] == nil ? "" : ", ") + field.value }
            let body = try await request.body.collect(upTo: 1 << 20)
            return Echo(principalTenant: context.principal?.tenantSlug.rawValue, principalSubject: context.principal?.subject,
                        headers: headers, bodyBytes: body.readableBytes,
                        bodySHA256: SHA256.hash(data: Data(body.readableBytesView)).map { String(format: "%02x", $0) }.joined())
        }
        router.get("/api/v1/tickets/echo", use: echo)
        router.post("/api/v1/tickets/echo", use: echo)
        router.post("/api/v1/attachments/echo", use: echo)
    }
}

extension RunningService {
    /// Starts `service` like ``with(_:region:pki:signingKey:database:migrations:routes:_:)`` but
    /// leaves it running for the rest of the test process; returns its base URL.
    static func start(
        _ service: ServiceName, region: Region, pki: TestPKI, signingKey: PrincipalSigningKey, database: TestDatabase?,
        migrations: [Migration] = [], routes: @escaping @Sendable (Router<ServiceRequestContext>, ServiceRuntime) throws -> Void
    ) async throws -> String {
        let jwks = pki.directory.appendingPathComponent("jwks-\(UUID().uuidString).json")
        try signingKey.publicKeySet.jwks().write(to: jwks)
        let port = try freePort()
        let values = try configValues(service: service, region: region, port: port, pki: pki, jwksPath: jwks.path, database: database, signingKey: signingKey)
        let config = try ServiceConfig(service: service, source: ConfigSource(values: values))
        let runtime = try await StartupGate.pass { try await ServiceRuntime.prepare(config: config, migrations: migrations) }
        // Waits for the listener's own report of its bind, as ``with`` does.
        let (bound, boundContinuation) = AsyncStream<Void>.makeStream()
        let app = try ServiceApplication.build(runtime: runtime, routes: { try routes($0, runtime) }, onListening: { boundContinuation.yield() })
        let group = ServiceGroup(configuration: .init(services: [app], logger: runtime.logger))
        Task {
            defer { boundContinuation.finish() }
            try await group.run()
        }
        for await _ in bound { return "https://127.0.0.1:\(port)" }
        throw TestSetupError("\(service) did not start listening on \(port)")
    }
}
