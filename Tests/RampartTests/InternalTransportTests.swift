import AsyncHTTPClient
import Foundation
import Hummingbird
import NIOPosix
import NIOSSL
import RampartCore
import RampartSecurity
import RampartStorage
import RampartTransport
import Testing

@Suite("Internal mutual TLS, allow-list and principal")
struct InternalTransportTests {
    let eu = Region(rawValue: "eu")!
    let us = Region(rawValue: "us")!
    let signingKey = PrincipalSigningKey.generate()

    /// A client presenting `identity`'s certificate from `pki` (or none), trusting `pki`'s CA.
    func client(_ pki: TestPKI, as identity: CallerIdentity?, trusting: TestPKI? = nil, tls12: Bool = false) throws -> HTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates([try NIOSSLCertificate(file: (trusting ?? pki).caPath, format: .pem)])
        if let identity {
            let files = try pki.files(for: identity)
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(files.certificatePath).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: files.privateKeyPath, format: .pem))
        }
        if tls12 {
            tls.minimumTLSVersion = .tlsv12
            tls.maximumTLSVersion = .tlsv12
        }
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
    }

    func get(_ client: HTTPClient, _ url: String, headers: [(String, String)] = []) async throws -> (Int, String, String?) {
        var request = HTTPClientRequest(url: url)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response = try await client.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), String(buffer: body), response.headers.first(name: "content-type"))
    }

    /// A tenant-facing route only reachable with a verified principal.
    static let echoRoutes: @Sendable (Router<ServiceRequestContext>, ServiceRuntime) throws -> Void = { router, _ in
        router.group("/api/v1/echo", context: AuthenticatedContext.self).get { _, context in
            "\(context.principal.tenantSlug) \(context.principal.subject)"
        }
        router.get("/api/v1/slow") { request, _ in
            await SlowRequests.shared.entered(request.headers[.requestID] ?? "")
            try await Task.sleep(for: .milliseconds(800))
            return "finished"
        }
    }

    func withTickets<R: Sendable>(_ pki: TestPKI, _ body: @escaping @Sendable (RunningService) async throws -> R) async throws -> R {
        try await RunningService.with(.tickets, region: eu, pki: pki, signingKey: signingKey, database: try await TestDatabase.make(), routes: Self.echoRoutes, body)
    }

    @Test func allowedCallerReachesHealthAndOperatorReadsMetrics() async throws {
        let pki = try TestPKI()
        try await withTickets(pki) { service in
            let status = try client(pki, as: .service(.status, us))
            let (code, body, type) = try await get(status, service.baseURL + "/healthz")
            #expect(code == 200)
            #expect(body.contains("\"ok\""))
            #expect(type?.hasPrefix("application/json") == true)
            try await status.shutdown()

            let operatorClient = try client(pki, as: .operator("alice"))
            let (readyCode, readyBody, _) = try await get(operatorClient, service.baseURL + "/readyz")
            #expect(readyCode == 200)
            #expect(readyBody.contains("\"ready\""))
            let (metricsCode, metrics, _) = try await get(operatorClient, service.baseURL + "/metrics")
            #expect(metricsCode == 200)
            #expect(metrics.contains("http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"}"))
            #expect(metrics.contains("http_request_duration_seconds_bucket"))
            try await operatorClient.shutdown()
        }
    }

    @Test func connectionWithoutClientCertificateIsRefused() async throws {
        let pki = try TestPKI()
        try await withTickets(pki) { service in
            let anonymous = try client(pki, as: nil)
            await #expect(throws: (any Error).self) { _ = try await get(anonymous, service.baseURL + "/healthz") }
            try await anonymous.shutdown()
        }
    }

    @Test func certificateFromAnotherCAIsRefused() async throws {
        let pki = try TestPKI()
        let rogue = try TestPKI(commonName: "Rampart internal CA")
        try await withTickets(pki) { service in
            // Same CA name, same identity, different key: the handshake must fail.
            let impostor = try client(rogue, as: .service(.status, eu), trusting: pki)
            await #expect(throws: (any Error).self) { _ = try await get(impostor, service.baseURL + "/healthz") }
            try await impostor.shutdown()
        }
    }

    @Test func tls12IsRefusedInternally() async throws {
        let pki = try TestPKI()
        try await withTickets(pki) { service in
            let old = try client(pki, as: .service(.status, eu), tls12: true)
            await #expect(throws: (any Error).self) { _ = try await get(old, service.baseURL + "/healthz") }
            try await old.shutdown()
        }
    }

    @Test func trustedCallerNotOnTheListGets403ProblemDocument() async throws {
        let pki = try TestPKI()
        try await withTickets(pki) { service in
            let identity = try client(pki, as: .service(.identity, eu))
            let (code, body, type) = try await get(identity, service.baseURL + "/healthz")
            #expect(code == 403)
            #expect(type == "application/problem+json")
            let problem = try JSONDecoder().decode(ProblemDetails.self, from: Data(body.utf8))
            #expect(problem.code == "caller_not_allowed")
            #expect(problem.status == 403)
            #expect(problem.instance?.hasPrefix("urn:rampart:request:") == true)
            try await identity.shutdown()
        }
    }

    @Test func gatewayOfAnotherRegionCannotReachThisRegionsServices() async throws {
        let pki = try TestPKI()
        let token = try PrincipalToken.sign(principal(region: eu), audience: .tickets, key: signingKey)
        try await withTickets(pki) { service in
            let foreign = try client(pki, as: .service(.gateway, us))
            let (code, _, _) = try await get(foreign, service.baseURL + "/api/v1/echo", headers: [("X-Rampart-Principal", token)])
            #expect(code == 403)
            try await foreign.shutdown()
        }
    }

    @Test(arguments: ["/healthz/../api/v1/echo", "/healthz/%2e%2e/api/v1/echo", "/healthz//x", "/healthz/%2fapi"])
    func pathTricksAreRefusedBeforeTheAllowList(_ path: String) async throws {
        let pki = try TestPKI()
        try await withTickets(pki) { service in
            let status = try client(pki, as: .service(.status, eu))
            let (code, _, _) = try await get(status, service.baseURL + path)
            #expect(code == 400)
            try await status.shutdown()
        }
    }

    func principal(region: Region) -> Principal {
        Principal(tenantID: .random(), tenantSlug: TenantSlug(rawValue: "acme")!, region: region, subject: "agent-7", kind: .agent, roles: ["agent"], scopes: ["tickets:read"], authenticationMethod: .password)
    }

    @Test func authenticatedRouteNeedsAValidPrincipal() async throws {
        let pki = try TestPKI()
        try await withTickets(pki) { service in
            // Signed once the service is up: a slow start on a busy machine must not outlive the 60 s tokens.
            let valid = try PrincipalToken.sign(principal(region: eu), audience: .tickets, key: signingKey)
            let expired = try PrincipalToken.sign(principal(region: eu), audience: .tickets, key: signingKey, now: .now.addingTimeInterval(-600))
            let otherAudience = try PrincipalToken.sign(principal(region: eu), audience: .identity, key: signingKey)
            let otherRegion = try PrincipalToken.sign(principal(region: us), audience: .tickets, key: signingKey)
            let strangerKey = try PrincipalToken.sign(principal(region: eu), audience: .tickets, key: .generate())
            let gateway = try client(pki, as: .service(.gateway, eu))
            let url = service.baseURL + "/api/v1/echo"
            let (ok, body, _) = try await get(gateway, url, headers: [("X-Rampart-Principal", valid)])
            #expect(ok == 200)
            #expect(body == "acme agent-7")
            let (missing, missingBody, _) = try await get(gateway, url)
            #expect(missing == 401)
            #expect(missingBody.contains("principal_required"))
            for bad in [expired, otherAudience, otherRegion, strangerKey, valid + "x", "not-a-token"] {
                let (code, badBody, _) = try await get(gateway, url, headers: [("X-Rampart-Principal", bad)])
                #expect(code == 401)
                #expect(badBody.contains("principal_invalid"))
                #expect(!badBody.contains(bad))
            }
            try await gateway.shutdown()
        }
    }

    @Test func gracefulShutdownFinishesInFlightRequestsAndRefusesNewConnections() async throws {
        let pki = try TestPKI()
        try await withTickets(pki) { service in
            let gateway = try client(pki, as: .service(.gateway, eu))
            let requestID = "slow-\(UUID().uuidString.prefix(8))"
            let inFlight = Task { try await get(gateway, service.baseURL + "/api/v1/slow", headers: [("X-Request-Id", requestID)]) }
            // Shut down only once the handler is surely running.
            while await !SlowRequests.shared.hasEntered(requestID) { try await Task.sleep(for: .milliseconds(10)) }
            await service.shutdown()
            let outcome = await inFlight.result
            try await gateway.shutdown()
            let (code, body, _) = try outcome.get()
            #expect(code == 200)
            #expect(body == "finished")
            // The listener is closed: a new TCP connection is refused outright.
            let port = service.config.listenPort
            await #expect(throws: (any Error).self) {
                try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: port).get().close()
            }
        }
    }

    @Test func unknownRouteIsAProblemDocumentWithRequestID() async throws {
        let pki = try TestPKI()
        try await withTickets(pki) { service in
            let gateway = try client(pki, as: .service(.gateway, eu))
            var request = HTTPClientRequest(url: service.baseURL + "/api/v1/nothing-here")
            request.headers.add(name: "X-Request-Id", value: "req-0123456789")
            let response = try await gateway.execute(request, timeout: .seconds(10))
            #expect(response.status.code == 404)
            #expect(response.headers.first(name: "x-request-id") == "req-0123456789")
            #expect(response.headers.first(name: "content-type") == "application/problem+json")
            try await gateway.shutdown()
        }
    }

    @Test func internalClientPresentsItsCertificateAndVerifiesTheCallee() async throws {
        let pki = try TestPKI()
        try await withTickets(pki) { service in
            let own = InternalClient(tls: try InternalTLS(files: try pki.files(for: .service(.status, eu))))
            #expect(try await own.send(url: service.baseURL + "/healthz").status == 200)
            try await own.shutdown()
            // A client trusting another CA refuses the service's certificate.
            let rogue = try TestPKI()
            var files = try rogue.files(for: .service(.status, eu))
            files = .init(caCertificatePath: rogue.caPath, certificatePath: files.certificatePath, privateKeyPath: files.privateKeyPath)
            let misled = InternalClient(tls: try InternalTLS(files: files))
            await #expect(throws: (any Error).self) { _ = try await misled.send(url: service.baseURL + "/healthz") }
            try await misled.shutdown()
        }
    }
}

/// Which slow requests have reached their handler, so a test can act while they are in flight.
actor SlowRequests {
    static let shared = SlowRequests()
    private var ids: Set<String> = []

    func entered(_ id: String) { ids.insert(id) }
    func hasEntered(_ id: String) -> Bool { ids.contains(id) }
}
