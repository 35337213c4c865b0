@testable import Gateway
import Testing

@Suite("WAF rules and policy files")
struct WafRulesFileTests {
    @Test func shippedRulesCoverEveryCategoryAtParanoiaOne() throws {
        let rules = try WafCorpus.shippedWAF().ruleSet
        let levelOne = Set(rules.rules.filter { $0.paranoia == 1 }.map(\.category))
        #expect(levelOne == Set(WAFCategory.allCases))
        #expect(Set(rules.ruleIDs).count == rules.ruleIDs.count)
        #expect(rules.chains.count < rules.rules.count)
    }

    @Test func shippedPolicyLoads() throws {
        let policy = try WAFPolicy(contentsOf: WafCorpus.repositoryRoot.appendingPathComponent("Deploy/waf/policy.yaml").path)
        #expect(policy.defaults == .init(paranoia: 1, inboundThreshold: 5, detectionOnly: false))
        #expect(policy.settings(for: "initech").detectionOnly)
        #expect(policy.settings(for: "acme") == policy.defaults)
    }

    static let valid = "{ id: 7, category: sqli, severity: critical, targets: [args], operator: { detect: sqli } }"

    @Test(arguments: [
        ("{ id: 7, category: sqlinjection, severity: critical, targets: [args], operator: { detect: sqli } }", "WAF rule 7", "category"),
        ("{ id: 7, category: sqli, severity: fatal, targets: [args], operator: { detect: sqli } }", "WAF rule 7", "severity"),
        ("{ id: 7, category: sqli, severity: critical, paranoia: 5, targets: [args], operator: { detect: sqli } }", "WAF rule 7", "paranoia"),
        ("{ id: 7, category: sqli, severity: critical, targets: [argz], operator: { detect: sqli } }", "WAF rule 7", "\"argz\""),
        ("{ id: 7, category: sqli, severity: critical, targets: [args], transformations: [urldecode], operator: { detect: sqli } }", "WAF rule 7", "\"urldecode\""),
        ("{ id: 7, category: sqli, severity: critical, targets: [args], operator: { regex: '(unclosed' } }", "WAF rule 7", "regular expression"),
        ("{ id: 7, category: sqli, severity: critical, targets: [args], operator: { detect: magic } }", "WAF rule 7", "\"magic\""),
        ("{ id: 7, category: sqli, severity: critical, targets: [args], operator: { detect: sqli, phrases: [x] } }", "WAF rule 7", "exactly one"),
        ("{ id: 7, category: protocol, severity: critical, targets: [args], operator: { check: obs_fold } }", "WAF rule 7", "request"),
        ("{ id: 7, category: sqli, severity: critical, targets: [args] }", "WAF rule 7", "no operator"),
        ("{ category: sqli, severity: critical, targets: [args], operator: { detect: sqli } }", "without id", "number 1"),
        ("{ id: 7, category: sqli, severity: critical, paranoia: high, targets: [args], operator: { detect: sqli } }", "rules[0].paranoia", "wrong type"),
    ])
    func badRulesAreRefusedNamingTheRule(_ rule: String, _ names: String, _ explains: String) {
        do {
            _ = try WAFRuleSet(yaml: "version: 1\nrules:\n  - \(rule)\n")
            Issue.record("accepted \(rule)")
        } catch {
            let message = String(describing: error)
            #expect(message.contains(names), "\(message)")
            #expect(message.contains(explains), "\(message)")
        }
    }

    @Test func duplicateIdsAndDanglingExclusionsAreRefused() {
        #expect(throws: WAFRuleSetError.invalidRule(id: 7, position: 2, reason: "duplicate id")) {
            try WAFRuleSet(yaml: "version: 1\nrules:\n  - \(Self.valid)\n  - \(Self.valid)\n")
        }
        #expect(throws: WAFRuleSetError.invalidExclusion("excludes unknown rule 8")) {
            try WAFRuleSet(yaml: "version: 1\nrules:\n  - \(Self.valid)\nexclusions:\n  - { rule_ids: [8] }\n")
        }
        #expect(throws: WAFRuleSetError.invalidRoute("api")) {
            try WAFRuleSet(yaml: "version: 1\nrules:\n  - \(Self.valid)\nrich_text:\n  - { route: api, fields: [body] }\n")
        }
        #expect(throws: WAFRuleSetError.unsupportedVersion(2)) { try WAFRuleSet(yaml: "version: 2\nrules: []\n") }
        #expect(throws: WAFRuleSetError.self) { try WAFRuleSet(contentsOf: "/nonexistent/rules.yaml") }
    }

    @Test(arguments: [
        "version: 1\nparanoia: 5", "version: 1\ninbound_threshold: 0", "version: 1\nmode: block",
        "version: 1\ntenants:\n  acme: { paranoia: 0 }", "version: 2", "version: 1\nmaximum_value_bytes: 10",
    ])
    func badPoliciesAreRefused(_ yaml: String) {
        #expect(throws: WAFPolicyError.self) { try WAFPolicy(yaml: yaml) }
    }

    @Test func tenantPoliciesInheritTheDefaults() throws {
        let policy = try WAFPolicy(yaml: "version: 1\nparanoia: 2\ninbound_threshold: 7\ntenants:\n  globex: { mode: detection_only }\n")
        #expect(policy.settings(for: "globex") == .init(paranoia: 2, inboundThreshold: 7, detectionOnly: true))
        #expect(policy.settings(for: nil) == .init(paranoia: 2, inboundThreshold: 7, detectionOnly: false))
    }

    @Test func benchmarkSamplesPassTheShippedRules() throws {
        let results = WAFBenchmark.run(waf: try WafCorpus.shippedWAF(), iterations: 20)
        #expect(results.count == 2)
        #expect(results.allSatisfy { !$0.name.contains("BLOCKED") && $0.microsecondsPerRequest > 0 })
    }
}
