import Foundation
@testable import Gateway
import Hummingbird
import NIOPosix
import RampartCore
import RampartSecurity
import RampartTransport
import Testing

/// `status.{base-domain}` survives the loss of a region: two regions' status instances (real
/// service pipelines with mutual TLS and the shipped allow-list), an eu gateway, then eu's
/// instance stopped.
@Suite("Gateway: status page failover across regions")
struct GatewayStatusFailoverTests {
    static let eu = EdgeFixture.eu
    static let us = EdgeFixture.us

    /// A status instance's page, naming its region.
    static func page(_ region: Region) -> @Sendable (Router<ServiceRequestContext>, ServiceRuntime) throws -> Void {
        { router, _ in router.get("/") { _, _ in "status page of \(region)" } }
    }

    @Test func theStatusPageMovesToTheNextHealthyRegionWhenItsOwnInstanceStops() async throws {
        let pki = try TestPKI()
        let key = PrincipalSigningKey.generate()
        async let euPending = TestDatabase.make(region: Self.eu)
        async let usPending = TestDatabase.make(region: Self.us)
        let (euDatabase, usDatabase) = try await (euPending, usPending)
        try await RunningService.with(.status, region: Self.us, pki: pki, signingKey: key, database: usDatabase, routes: Self.page(Self.us)) { usStatus in
            try await RunningService.with(.status, region: Self.eu, pki: pki, signingKey: key, database: euDatabase, routes: Self.page(Self.eu)) { euStatus in
                let endpoints: [String: Any] = ["regions": ["eu": ["status": euStatus.baseURL], "us": ["status": usStatus.baseURL]]]
                // Own region (eu) first whatever the order says; uk has no status instance and is skipped.
                let policy = try EdgeFixture.policy()
                    .replacingOccurrences(of: "order: [us, eu, uk]", with: "order: [uk, us, eu]")
                    .replacingOccurrences(of: "health_interval_ms: 2000", with: "health_interval_ms: 200")
                let (port, _) = try await EdgeFixture.startGateway(pki: pki, signingKey: key, endpoints: endpoints, policy: policy,
                                                                   accessLog: AccessLog(sink: .init { _ in }))
                let url = "https://status.localhost:\(port)/"
                // Own region first once its health is known (a check that timed out on a busy
                // machine marks it down until the next check, 200 ms later, finds it up).
                var before = try await EdgeClient.request(url, ca: pki.caPath)
                for _ in 0..<50 where before.text != "status page of eu" {
                    try await Task.sleep(for: .milliseconds(200))
                    before = try await EdgeClient.request(url, ca: pki.caPath)
                }
                #expect(before.status == 200)
                #expect(before.text == "status page of eu")

                await euStatus.shutdown()
                try await Self.waitUntilRefused(euStatus.baseURL)
                // At once: eu refuses the connection and the edge goes on to us (across regions,
                // with the eu gateway's certificate, which the allow-list permits for status).
                let during = try await EdgeClient.request(url, ca: pki.caPath)
                #expect(during.status == 200)
                #expect(during.text == "status page of us")
                // After health checks found eu down, it is not tried first any more.
                try await Task.sleep(for: .milliseconds(600))
                for _ in 0..<3 {
                    let after = try await EdgeClient.request(url, ca: pki.caPath)
                    #expect(after.status == 200 && after.text == "status page of us")
                }
            }
        }
    }

    @Test func theStatusPageIs503WhenNoRegionHasAStatusInstance() async throws {
        let pki = try TestPKI()
        let endpoints: [String: Any] = ["regions": ["eu": [String: String](), "us": [String: String]()]]
        let (port, _) = try await EdgeFixture.startGateway(pki: pki, signingKey: .generate(), endpoints: endpoints, policy: try EdgeFixture.policy(),
                                                           accessLog: AccessLog(sink: .init { _ in }))
        let reply = try await EdgeClient.request("https://status.localhost:\(port)/", ca: pki.caPath)
        #expect(reply.status == 503)
        #expect(reply.json["code"] as? String == "service_unavailable")
    }

    /// Waits until nothing listens at `baseURL`'s port any more.
    static func waitUntilRefused(_ baseURL: String) async throws {
        guard let port = URLComponents(string: baseURL)?.port else { throw TestSetupError("no port in \(baseURL)") }
        for _ in 0..<200 {
            guard let channel = try? await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: port).get() else {
                return
            }
            try? await channel.close()
            try await Task.sleep(for: .milliseconds(25))
        }
        throw TestSetupError("\(baseURL) is still listening")
    }
}
