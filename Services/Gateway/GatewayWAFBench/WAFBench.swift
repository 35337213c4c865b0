import Foundation
import Gateway

/// `swift run -c release GatewayWAFBench [rules.yaml] [policy.yaml] [iterations]`: the WAF's CPU
/// time per benign request (single thread), for `make bench` and docs/benchmarks.md.
@main
struct WAFBench {
    static func main() throws {
        let arguments = CommandLine.arguments.dropFirst()
        let rulesPath = arguments.first ?? "Deploy/waf/rules.yaml"
        let policyPath = arguments.dropFirst().first ?? "Deploy/waf/policy.yaml"
        let iterations = arguments.dropFirst(2).first.flatMap(Int.init) ?? 20_000
        let ruleSet = try WAFRuleSet(contentsOf: rulesPath)
        let policy = try WAFPolicy(contentsOf: policyPath)
        // As the gateway runs it (a browser's headers are the same on every request), and with
        // every header value inspected as if new.
        let runs = [
            (WAF(ruleSet: ruleSet, policy: policy), "header values seen before"),
            (WAF(ruleSet: ruleSet, policy: policy, remembersHeaders: false), "every header value new"),
        ]
        for (waf, headers) in runs {
            for result in WAFBenchmark.run(waf: waf, iterations: iterations) {
                print("\(result); \(headers)")
            }
        }
    }
}
