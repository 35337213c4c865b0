import Foundation
@testable import Gateway
import Testing

@Suite("WAF: findings of header values seen before")
struct WafHeaderFindingsTests {
    static let rules = """
        version: 1
        exclusions:
          - { route: /api/v1/import, fields: [user-agent], rule_ids: [31] }
          - { route: /api/v1/health, rule_ids: [31] }
        rules:
          - { id: 30, category: scanner, severity: critical, paranoia: 2, targets: [header:user-agent], inspect_plain: true, operator: { phrases: [curl] } }
          - { id: 31, category: scanner, severity: notice, targets: [args, header:user-agent], inspect_plain: true, operator: { phrases: [curl] } }
        """

    func get(_ path: String, _ query: String? = nil, headers: [(name: String, value: String)], tenant: String? = nil) -> InspectedRequest {
        InspectedRequest(method: "GET", rawPath: path, rawQuery: query, headers: headers, tenant: tenant)
    }

    func ruleIDs(_ verdict: WAFVerdict) -> [Int] {
        verdict.matches.map(\.ruleID)
    }

    /// A header an exclusion covers on one route (by field, or the whole route's) is inspected
    /// as usual on another, in either order and however often the value was seen.
    @Test func routeExclusionsHoldWhateverTheSameValueGaveElsewhere() throws {
        let curl = [("User-Agent", "curl/8.5.0")]
        for excluded in ["/api/v1/import", "/api/v1/health"] {
            for order in [[excluded, "/api/v1/tickets"], ["/api/v1/tickets", excluded]] {
                let engine = WAF(ruleSet: try WAFRuleSet(yaml: Self.rules), policy: WAFPolicy(defaults: .init()))
                for _ in 0..<2 {
                    for path in order {
                        #expect(ruleIDs(engine.inspect(get(path, headers: curl))) == (path == excluded ? [] : [31]), "\(order) \(path)")
                    }
                }
            }
        }
    }

    /// Two fields of one name: the rule counts once, at the first that matches, in either order.
    @Test func repeatedHeadersCountOnceAtTheFirstMatch() throws {
        let engine = WAF(ruleSet: try WAFRuleSet(yaml: Self.rules), policy: WAFPolicy(defaults: .init()))
        for headers in [[("User-Agent", "Mozilla/5.0"), ("User-Agent", "curl/8.5.0")], [("User-Agent", "curl/8.5.0"), ("User-Agent", "Mozilla/5.0")]] {
            for _ in 0..<2 {
                let verdict = engine.inspect(get("/api/v1/tickets", headers: headers))
                #expect(ruleIDs(verdict) == [31] && verdict.score == 2)
            }
        }
    }

    /// Findings are kept per paranoia level: a tenant at level 2 gets the level-2 rule on a
    /// value a level-1 tenant's request was inspected with first, and the other way round.
    @Test func findingsAreKeptPerParanoiaLevel() throws {
        let engine = WAF(ruleSet: try WAFRuleSet(yaml: Self.rules), policy: WAFPolicy(defaults: .init(paranoia: 1), tenants: ["acme": .init(paranoia: 2)]))
        let curl = [("User-Agent", "curl/8.5.0")]
        for _ in 0..<2 {
            #expect(ruleIDs(engine.inspect(get("/api/v1/tickets", headers: curl, tenant: "globex"))) == [31])
            #expect(ruleIDs(engine.inspect(get("/api/v1/tickets", headers: curl, tenant: "acme"))) == [30, 31])
        }
    }

    /// A rule counts once, at its first matching target, also when the header's findings come
    /// from before: the query matched it first here.
    @Test func aRememberedFindingOfARuleThatMatchedAlreadyIsNotCountedTwice() throws {
        let engine = WAF(ruleSet: try WAFRuleSet(yaml: Self.rules), policy: WAFPolicy(defaults: .init()))
        let curl = [("User-Agent", "curl/8.5.0")]
        for _ in 0..<2 {
            let both = engine.inspect(get("/api/v1/tickets", "tool=curl", headers: curl))
            #expect(both.matches.map(\.target) == ["query:tool"])
            #expect(both.score == 2)
            #expect(engine.inspect(get("/api/v1/tickets", headers: curl)).matches.map(\.target) == ["header:user-agent"])
        }
    }

    /// The shipped rules over every sample of the corpus (header attacks among them): a WAF that
    /// remembers header findings gives the same verdicts, the first time and again, as one that
    /// inspects every value anew.
    @Test func rememberingGivesTheVerdictsOfInspectingAnew() throws {
        let ruleSet = try WafCorpus.shippedWAF().ruleSet
        let policy = WAFPolicy(defaults: .init(paranoia: 2))
        let remembering = WAF(ruleSet: ruleSet, policy: policy)
        let anew = WAF(ruleSet: ruleSet, policy: policy, remembersHeaders: false)
        let samples = try WafCorpus.attacks() + WafCorpus.benign()
        #expect(samples.contains { $0.request.headers.contains { $0.name.caseInsensitiveEquals("user-agent") } })
        for round in 1...2 {
            for sample in samples {
                let expected = anew.inspect(sample.request)
                let verdict = remembering.inspect(sample.request)
                #expect(verdict.matches == expected.matches && verdict.score == expected.score, "round \(round): \(sample.name)")
            }
        }
    }

    /// Two WAFs on one thread (the tests make many; a reload would make a new one): what one
    /// remembered never answers for the other, whose rule set may differ.
    @Test func findingsBelongToTheInstanceThatMadeThem() throws {
        let first = HeaderFindings()
        let second = HeaderFindings()
        let key = try #require(first.key(headerNamed: "user-agent", value: Array("curl/8.5.0".utf8), paranoia: 1))
        first.remember([HeaderFindings.Finding(position: 7, fragment: "curl")], for: key)
        #expect(first.findings(for: key)?.map(\.position) == [7])
        #expect(second.findings(for: key) == nil)
        second.remember([], for: key)
        #expect(second.findings(for: key)?.isEmpty == true)
        #expect(first.findings(for: key) == nil)
    }

    /// A full table starts over (memory stays bounded), only the listed headers are kept, and
    /// what one thread remembered is not another thread's: nothing is shared between the event
    /// loops.
    @Test func theTableIsBoundedAndKeptPerThread() async throws {
        let findings = HeaderFindings(capacity: 2, maximumValueBytes: 8)
        @Sendable func key(_ value: String) -> HeaderFindings.Key { findings.key(headerNamed: "user-agent", value: Array(value.utf8), paranoia: 1)! }
        findings.remember([], for: key("a"))
        findings.remember([HeaderFindings.Finding(position: 3, fragment: "b")], for: key("b"))
        #expect(findings.findings(for: key("a")) != nil)
        #expect(findings.findings(for: key("b"))?.map(\.position) == [3])
        findings.remember([], for: key("c"))
        #expect(findings.findings(for: key("a")) == nil && findings.findings(for: key("b")) == nil)
        #expect(findings.findings(for: key("c")) != nil)
        #expect(findings.key(headerNamed: "user-agent", value: Array("12345678".utf8), paranoia: 1) != nil)
        #expect(findings.key(headerNamed: "user-agent", value: Array("123456789".utf8), paranoia: 1) == nil)
        // Only headers a browser sends alike every time and that carry nothing secret: not a
        // credential, not a URL (a Referer may hold a reset token), not a name of the client's choosing.
        for name in ["authorization", "cookie", "x-api-key", "api-key", "referer", "x-" + String(repeating: "a", count: 4000)] {
            #expect(findings.key(headerNamed: name, value: Array("secret".utf8), paranoia: 1) == nil, "\(name.prefix(20))")
        }

        let elsewhere = await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: findings.findings(for: key("c")) == nil) }
        }
        #expect(elsewhere)
    }
}
