import Foundation
@testable import Gateway
import HTTPTypes
import Logging
import NIOCore
import RampartCore
import Testing

@Suite("Gateway: WAF and rate limits in the edge's inspection")
struct ShieldInspectionTests {
    static let limits = """
        version: 1
        replicas: 1
        limits:
          - name: sign-in-ip
            key: [client_ip]
            route_classes: [sign_in]
            requests: 2
            period: 1m
            burst: 2
        """

    /// The shipped WAF with the rate limits of `limits` (a rate-limits document).
    func shield(limits: String = Self.limits) throws -> ShieldInspection {
        ShieldInspection(waf: try WafCorpus.shippedWAF(), limiter: RateLimiter(configuration: try RateLimitConfiguration(yaml: limits)),
                         logger: Logger(label: "test"))
    }

    func request(_ target: String, method: HTTPRequest.Method = .get, rateClass: String? = nil, body: String? = nil,
                 authorization: String? = nil, clientIP: String = "192.0.2.7") -> EdgeInspectionRequest {
        var headers: HTTPFields = [.userAgent: "Mozilla/5.0", .accept: "application/json"]
        if body != nil { headers[.contentType] = "application/json" }
        if let authorization { headers[.authorization] = authorization }
        return EdgeInspectionRequest(
            requestID: "r1", clientIP: clientIP, host: .tenant(TenantSlug(rawValue: "acme")!, Region(rawValue: "eu")!), method: method,
            target: target, headers: headers,
            route: EdgePolicy.Route(prefix: "/api/v1/tickets", service: .tickets, auth: .required, rateClass: rateClass),
            body: body.map { ByteBuffer(string: $0) }
        )
    }

    /// A key's id is no secret: requests with it and a made-up secret are counted apart from the
    /// key, so nobody can spend a key's allowance without holding it.
    @Test func aKeysIdWithAForgedSecretIsCountedApartFromTheKey() throws {
        func counted(_ authorization: String) -> String? { ShieldInspection.credentialID([.authorization: authorization]) }
        let key = "rk_0123456789abcdef_s3cr3tpartofthekeyabcdefghijklmn"
        #expect(counted("Bearer " + key) == counted("bearer " + key), "one key, one count")
        #expect(counted("Bearer " + key) != counted("Bearer rk_0123456789abcdef_forged"))
        #expect(counted("Bearer " + key)?.hasPrefix("rk_0123456789abcdef_") == true)
        #expect(counted("Bearer " + key)?.contains("s3cr3t") == false, "the secret is not kept")
        #expect(counted("Bearer rk_short_x") == nil)
        #expect(counted("Basic YTpi") == nil)
    }

    @Test func aCredentialsAllowanceIsNotSpentByRequestsWithItsIdAndAnotherSecret() async throws {
        let limits = """
            version: 1
            replicas: 1
            limits:
              - {name: credential, key: [credential], requests: 2, period: 1m, burst: 2}
            """
        let shield = try shield(limits: limits)
        func call(_ secret: String) async -> String {
            await shield.inspect(request("/api/v1/tickets", authorization: "Bearer rk_0123456789abcdef_\(secret)")).rateLimit ?? "none"
        }
        for _ in 0..<5 { _ = await call("forged") }
        #expect(await call("forged") == "limited:credential")
        #expect(await call("thekeysrealsecret") == "allowed")
    }

    /// The tenant's own limits count at the second call, for authenticated requests only, and a
    /// request the service refused to whoever asked is given back: however many anonymous or
    /// refused requests came first, the tenant's allowance is whole. Requests admitted at once
    /// (none answered yet) are all counted.
    @Test func theTenantsLimitsCountOnlyAuthenticatedRequestsAndGiveBackRefusedOnes() async throws {
        let limits = """
            version: 1
            replicas: 1
            limits:
              - {name: export, key: [tenant, route_class], route_classes: [export], requests: 10, period: 1h, burst: 2}
            """
        let shield = try shield(limits: limits)
        let export = request("/api/v1/exports", rateClass: "export")
        for _ in 0..<5 {
            let arrived = await shield.inspect(export)
            #expect(arrived.refusal == nil && arrived.rateLimit == "unlimited")
            // Admitted, then refused by the service: given back.
            #expect(await shield.admitAuthenticated(export, principal: "t1|user:ada").rateLimit == "allowed")
            await shield.refundRefused(export, principal: "t1|user:ada")
        }
        for _ in 0..<2 { #expect(await shield.admitAuthenticated(export, principal: "t1|user:ada").rateLimit == "allowed") }
        let refused = await shield.admitAuthenticated(export, principal: "t1|user:ada")
        #expect(refused.refusal.map { Int($0.status.code) } == 429)
        #expect(refused.rateLimit == "limited:export")
        #expect(refused.refusal?.headers[HTTPField.Name("Retry-After")!] != nil)
    }

    /// A limit keyed by principal counts one person's requests whichever credential or address
    /// they come with, apart from everyone else's, and never an anonymous request's.
    @Test func aPrincipalsLimitCountsThemAloneWhateverTheyCameWith() async throws {
        let limits = """
            version: 1
            replicas: 1
            limits:
              - {name: principal, key: [principal], requests: 2, period: 1h, burst: 2}
            """
        let shield = try shield(limits: limits)
        let tickets = request("/api/v1/tickets")
        // On arrival nothing is known of whom the request is from: not counted.
        for _ in 0..<3 { #expect(await shield.inspect(tickets).rateLimit == "unlimited") }
        #expect(await shield.admitAuthenticated(tickets, principal: nil).rateLimit == nil)
        #expect(await shield.admitAuthenticated(tickets, principal: "t1|user:ada").rateLimit == "allowed")
        let otherAddress = request("/api/v1/tickets", clientIP: "198.51.100.7")
        #expect(await shield.admitAuthenticated(otherAddress, principal: "t1|user:ada").rateLimit == "allowed")
        #expect(await shield.admitAuthenticated(otherAddress, principal: "t1|user:ada").rateLimit == "limited:principal")
        #expect(await shield.admitAuthenticated(tickets, principal: "t1|user:grace").rateLimit == "allowed")
    }

    @Test func sqlInjectionIsRefusedWith403AndNoRuleTextWhileACodeReplyPasses() async throws {
        let shield = try shield()
        let attack = await shield.inspect(request("/api/v1/tickets?q=1%27%20OR%20%271%27%3D%271%27%20--%20"))
        let refusal = try #require(attack.refusal)
        #expect(refusal.status == .forbidden)
        #expect(refusal.code == "request_blocked")
        #expect((attack.wafScore ?? 0) >= 5)
        #expect(!(refusal.detail ?? "").contains("942") && !(refusal.detail ?? "").lowercased().contains("sql"))

        let reply = #"{"body":"Run <code>SELECT id FROM orders WHERE status = 'open' OR updated_at > now() - interval '1 day';</code> and drop me a line.","public":true}"#
        let passed = await shield.inspect(request("/api/v1/tickets/42/messages", method: .post, body: reply))
        #expect(passed.refusal == nil)
        #expect(passed.wafScore == 0)
    }

    @Test func theSignInClassIsRateLimitedWithRetryAfterAndRateLimitHeaders() async throws {
        let shield = try shield()
        var statuses: [Int] = []
        var last: InspectionVerdict?
        for _ in 0..<3 {
            let verdict = await shield.inspect(request("/auth/password", method: .post, rateClass: "sign_in", body: #"{"email":"a@b.test","password":"x"}"#))
            statuses.append(verdict.refusal.map { Int($0.status.code) } ?? 200)
            last = verdict
        }
        #expect(statuses == [200, 200, 429])
        let refusal = try #require(last?.refusal)
        #expect(refusal.code == "rate_limited")
        #expect(refusal.headers[HTTPField.Name("Retry-After")!] != nil)
        #expect(refusal.headers[HTTPField.Name("RateLimit-Limit")!] == "2")
        #expect(last?.rateLimit == "limited:sign-in-ip")
        // Other route classes are not counted by the sign-in limit.
        #expect(await shield.inspect(request("/api/v1/tickets")).refusal == nil)
    }

    /// The WAF switched off (a rules file without rules): nothing is blocked or scored, and the
    /// rate limits still apply.
    @Test func withoutRulesAnAttackPassesUnscoredAndRateLimitsStillApply() async throws {
        let waf = WAF(ruleSet: try WAFRuleSet(yaml: "version: 1\nrules: []\n"), policy: WAFPolicy(defaults: .init(paranoia: 1)))
        let shield = ShieldInspection(waf: waf, limiter: RateLimiter(configuration: try RateLimitConfiguration(yaml: Self.limits)),
                                      logger: Logger(label: "test"))
        let attack = await shield.inspect(request("/api/v1/tickets?q=1%27%20OR%20%271%27%3D%271%27%20--%20"))
        #expect(attack.refusal == nil && attack.wafScore == 0)
        var statuses: [Int] = []
        for _ in 0..<3 {
            let verdict = await shield.inspect(request("/auth/password", method: .post, rateClass: "sign_in", body: "<script>alert(1)</script>"))
            statuses.append(verdict.refusal.map { Int($0.status.code) } ?? 200)
        }
        #expect(statuses == [200, 200, 429])
    }
}
