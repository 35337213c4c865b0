import Foundation
@testable import Gateway
import Testing

@Suite("Rate limits: GCRA")
struct RateLimitGCRATests {
    let start = ContinuousClock.now
    let key = RateLimitKey(limit: "ip", value: "203.0.113.7")

    @Test func allowsTheBurstThenRefusesWithRetryAfter() throws {
        let limiter = GCRALimiter()
        let limit = try #require(RateLimit(requests: 10, period: .seconds(60), burst: 3))
        for expectedRemaining in [2, 1, 0] {
            let decision = limiter.check(key: key, limit: limit, now: start)
            #expect(decision.allowed)
            #expect(decision.remaining == expectedRemaining)
            #expect(decision.limit == 10)
        }
        let refused = limiter.check(key: key, limit: limit, now: start)
        #expect(!refused.allowed)
        #expect(refused.remaining == 0)
        #expect(refused.retryAfter == .seconds(6))
        #expect(refused.headers.map(\.name) == ["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "Retry-After"])
        #expect(refused.headers.first { $0.name == "Retry-After" }?.value == "6")
        #expect(refused.headers.first { $0.name == "RateLimit-Reset" }?.value == "18")
    }

    @Test func refusedRequestsAreNotCounted() throws {
        let limiter = GCRALimiter()
        let limit = try #require(RateLimit(requests: 1, period: .seconds(10), burst: 1))
        #expect(limiter.check(key: key, limit: limit, now: start).allowed)
        for _ in 0..<100 { #expect(!limiter.check(key: key, limit: limit, now: start + .seconds(1)).allowed) }
        #expect(limiter.check(key: key, limit: limit, now: start + .seconds(10)).allowed)
    }

    @Test func sustainedRateIsAllowedForever() throws {
        let limiter = GCRALimiter()
        let limit = try #require(RateLimit(requests: 60, period: .seconds(60), burst: 1))
        for second in 0..<300 {
            #expect(limiter.check(key: key, limit: limit, now: start + .seconds(second)).allowed)
        }
        #expect(!limiter.check(key: key, limit: limit, now: start + .seconds(299) + .milliseconds(500)).allowed)
    }

    @Test func keysAreIndependent() throws {
        let limiter = GCRALimiter()
        let limit = try #require(RateLimit(requests: 1, period: .seconds(60)))
        #expect(limiter.check(key: key, limit: limit, now: start).allowed)
        #expect(!limiter.check(key: key, limit: limit, now: start).allowed)
        #expect(limiter.check(key: RateLimitKey(limit: "ip", value: "198.51.100.1"), limit: limit, now: start).allowed)
        #expect(limiter.check(key: RateLimitKey(limit: "tenant", value: "203.0.113.7"), limit: limit, now: start).allowed)
    }

    @Test func memoryStaysBoundedUnderManyKeys() throws {
        let limiter = GCRALimiter(maximumKeys: 1_000, shardCount: 4)
        let limit = try #require(RateLimit(requests: 10, period: .seconds(60)))
        for index in 0..<20_000 {
            _ = limiter.check(key: RateLimitKey(limit: "ip", value: "10.0.\(index / 256).\(index % 256)"), limit: limit, now: start)
        }
        #expect(limiter.keyCount <= 1_000)
    }

    @Test func idleKeysExpire() throws {
        let limiter = GCRALimiter()
        let limit = try #require(RateLimit(requests: 10, period: .seconds(60)))
        for index in 0..<50 {
            _ = limiter.check(key: RateLimitKey(limit: "ip", value: "k\(index)"), limit: limit, now: start)
        }
        limiter.removeExpired(now: start + .seconds(5))
        #expect(limiter.keyCount == 50)
        limiter.removeExpired(now: start + .seconds(7))
        #expect(limiter.keyCount == 0)
    }

    @Test func concurrentRequestsNeverExceedTheBurst() async throws {
        let limiter = GCRALimiter()
        let limit = try #require(RateLimit(requests: 50, period: .seconds(3600), burst: 50))
        let key = self.key
        let now = start
        let allowed = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    var count = 0
                    for _ in 0..<100 where limiter.check(key: key, limit: limit, now: now).allowed { count += 1 }
                    return count
                }
            }
            return await group.reduce(0, +)
        }
        #expect(allowed == 50)
    }

    @Test func replicaShareDividesRequestsAndBurstRoundingUp() throws {
        let limit = try #require(RateLimit(requests: 5, period: .seconds(60), burst: 5))
        let share = limit.share(ofReplicas: 3)
        #expect(share.requests == 2)
        #expect(share.burst == 2)
        #expect(share.period == .seconds(60))
    }

    @Test func refusesNonPositiveLimits() {
        #expect(RateLimit(requests: 0, period: .seconds(1)) == nil)
        #expect(RateLimit(requests: 1, period: .zero) == nil)
        #expect(RateLimit(requests: 1, period: .seconds(1), burst: 0) == nil)
    }
}

@Suite("Rate limits: configuration")
struct RateLimitConfigurationTests {
    let start = ContinuousClock.now

    static var shippedPath: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Deploy/gateway/rate-limits.yaml").path
    }

    @Test func shippedFileLoadsWithStrictSignIn() throws {
        let configuration = try RateLimitConfiguration(contentsOf: Self.shippedPath)
        let signIn = try #require(configuration.rules.first { $0.name == "sign-in-account" })
        #expect(signIn.dimensions == [.clientIP, .account])
        #expect(signIn.limit.requests <= 10)
        #expect(signIn.routeClasses == ["sign_in"])
    }

    @Test func signInIsLimitedPerAddressAndAccount() throws {
        let limiter = RateLimiter(configuration: try RateLimitConfiguration(contentsOf: Self.shippedPath))
        let ana = RateLimitSubject(clientIP: "203.0.113.7", tenant: "acme", routeClass: "sign_in", account: "ana@example.com")
        for _ in 0..<5 { #expect(limiter.check(ana, stage: .arrival, now: start)?.allowed == true) }
        let refused = try #require(limiter.check(ana, stage: .arrival, now: start))
        #expect(!refused.allowed)
        #expect(refused.limitName == "sign-in-account")
        var bob = ana
        bob.account = "bob@example.com"
        #expect(limiter.check(bob, stage: .arrival, now: start)?.allowed == true)
        var elsewhere = ana
        elsewhere.clientIP = "198.51.100.9"
        #expect(limiter.check(elsewhere, stage: .arrival, now: start)?.allowed == true)
    }

    @Test func eachDimensionHasItsOwnLimit() throws {
        let yaml = """
            version: 1
            limits:
              - { name: ip, key: [client_ip], requests: 3, period: 1m }
              - { name: tenant, key: [tenant], requests: 4, period: 1m }
              - { name: credential, key: [credential], requests: 2, period: 1m }
              - { name: search, key: [client_ip, route_class], route_classes: [search], requests: 1, period: 1m }
            """
        let limiter = RateLimiter(configuration: try RateLimitConfiguration(yaml: yaml))
        func check(_ ip: String, tenant: String? = nil, key: String? = nil, route: String = "api", stage: RateLimiter.Stage = .arrival) -> String? {
            let decision = limiter.check(RateLimitSubject(clientIP: ip, tenant: tenant, credential: key, routeClass: route), stage: stage, now: start)
            return decision.map { $0.allowed ? "ok" : $0.limitName }
        }
        #expect(check("1.1.1.1", route: "search") == "ok")
        #expect(check("1.1.1.1", route: "search") == "search")
        #expect(check("2.2.2.2", key: "k1") == "ok")
        #expect(check("3.3.3.3", key: "k1") == "ok")
        #expect(check("4.4.4.4", key: "k1") == "credential")
        for ip in ["5.5.5.5", "6.6.6.6", "7.7.7.7", "8.8.8.8"] { #expect(check(ip, tenant: "acme", stage: .authenticated) == "ok") }
        #expect(check("9.9.9.9", tenant: "acme", stage: .authenticated) == "tenant")
        #expect(check("9.9.9.9", tenant: "globex", stage: .authenticated) == "ok")
        // The tenant's limit counted at its own stage only: the address's limit did not count those.
        for _ in 0..<3 { #expect(check("9.9.9.9") == "ok") }
        #expect(check("9.9.9.9") == "ip")
    }

    /// Anyone can send requests to a tenant's host: the tenant's own limits count only requests
    /// authenticated for it (the `authenticated` stage), so anonymous ones cannot spend them.
    @Test func limitsKeyedByTenantCountOnlyAuthenticatedRequests() throws {
        let yaml = """
            version: 1
            limits:
              - { name: ip, key: [client_ip], requests: 100, period: 1m }
              - { name: tenant, key: [tenant], requests: 3, period: 1m }
              - { name: export, key: [tenant, route_class], route_classes: [export], requests: 10, period: 1h, burst: 2 }
            """
        let configuration = try RateLimitConfiguration(yaml: yaml)
        #expect(configuration.rules.map(\.stage) == [.arrival, .authenticated, .authenticated])
        let limiter = RateLimiter(configuration: configuration)
        let export = RateLimitSubject(clientIP: "203.0.113.7", tenant: "acme", routeClass: "export")
        for _ in 0..<50 {
            let arrival = try #require(limiter.check(export, stage: .arrival, now: start))
            #expect(arrival.allowed && arrival.limitName == "ip")
        }
        // Counted and given back (the service refused it) leaves the allowance whole.
        for _ in 0..<5 {
            #expect(limiter.check(export, stage: .authenticated, now: start)?.allowed == true)
            limiter.refund(export, stage: .authenticated, now: start)
        }
        #expect(limiter.check(export, stage: .authenticated, now: start)?.allowed == true)
        #expect(limiter.check(export, stage: .authenticated, now: start)?.allowed == true)
        #expect(limiter.check(export, stage: .authenticated, now: start)?.limitName == "export")
        limiter.refund(export, stage: .authenticated, now: start)
        #expect(limiter.check(export, stage: .authenticated, now: start)?.allowed == true, "one given back, one room")
        #expect(limiter.check(export, stage: .authenticated, now: start)?.allowed == false)
    }

    /// A request one limit refuses counts against none: a person over their own limit does not go
    /// on spending their tenant's, which the tenant's other people still have whole.
    @Test func aRefusedRequestCountsAgainstNoLimit() throws {
        let yaml = """
            version: 1
            limits:
              - { name: tenant, key: [tenant], requests: 5, period: 1h }
              - { name: principal, key: [principal], requests: 2, period: 1h }
            """
        let configuration = try RateLimitConfiguration(yaml: yaml)
        #expect(configuration.rules.map(\.stage) == [.authenticated, .authenticated])
        let limiter = RateLimiter(configuration: configuration)
        func check(_ principal: String) -> String? {
            let subject = RateLimitSubject(clientIP: "203.0.113.7", tenant: "acme", routeClass: "api", principal: principal)
            return limiter.check(subject, stage: .authenticated, now: start).map { $0.allowed ? "ok" : $0.limitName }
        }
        #expect((0..<10).map { _ in check("t1|user:ada") } == ["ok", "ok"] + Array(repeating: "principal", count: 8))
        #expect((0..<4).map { _ in check("t1|user:grace") } == ["ok", "ok", "principal", "principal"])
        #expect(check("t1|user:alan") == "ok")
        #expect(check("t1|user:alan") == "tenant", "ada's 2, grace's 2 and alan's 1 are the tenant's 5")
    }

    @Test func tenantOverridesReplaceTheDefault() throws {
        let yaml = """
            version: 1
            limits:
              - { name: tenant, key: [tenant], requests: 1, period: 1m }
            tenants:
              acme: { tenant: { requests: 3 } }
            """
        let limiter = RateLimiter(configuration: try RateLimitConfiguration(yaml: yaml))
        let acme = RateLimitSubject(clientIP: "1.1.1.1", tenant: "acme", routeClass: "api")
        let globex = RateLimitSubject(clientIP: "1.1.1.1", tenant: "globex", routeClass: "api")
        #expect(limiter.check(globex, stage: .authenticated, now: start)?.allowed == true)
        #expect(limiter.check(globex, stage: .authenticated, now: start)?.allowed == false)
        for _ in 0..<3 { #expect(limiter.check(acme, stage: .authenticated, now: start)?.allowed == true) }
        #expect(limiter.check(acme, stage: .authenticated, now: start)?.allowed == false)
    }

    @Test func replicasDivideEveryLimit() throws {
        let yaml = "version: 1\nreplicas: 4\nlimits:\n  - { name: ip, key: [client_ip], requests: 100, period: 1m, burst: 20 }"
        let rule = try #require(try RateLimitConfiguration(yaml: yaml).rules.first)
        #expect(rule.limit.requests == 25)
        #expect(rule.limit.burst == 5)
    }

    @Test(arguments: [
        ("version: 2\nlimits: []", "version"),
        ("version: 1\nlimits:\n  - { name: ip, key: [client_ip], requests: 0, period: 1m }", "\"ip\""),
        ("version: 1\nlimits:\n  - { name: ip, key: [client_ip], requests: 5, period: soon }", "\"ip\""),
        ("version: 1\nlimits:\n  - { name: ip, key: [], requests: 5, period: 1m }", "\"ip\""),
        ("version: 1\nlimits:\n  - { name: ip, key: [shoe_size], requests: 5, period: 1m }", "valid"),
        ("version: 1\nlimits:\n  - { name: ip, key: [client_ip], requests: 5, period: 1m }\n  - { name: ip, key: [tenant], requests: 5, period: 1m }", "duplicate"),
        ("version: 1\nlimits: []\ntenants:\n  acme: { nope: { requests: 1 } }", "\"nope\""),
    ])
    func refusesInvalidFilesNamingTheLimit(_ yaml: String, _ mentioned: String) {
        do {
            _ = try RateLimitConfiguration(yaml: yaml)
            Issue.record("accepted an invalid file")
        } catch {
            #expect(String(describing: error).contains(mentioned))
        }
    }
}
