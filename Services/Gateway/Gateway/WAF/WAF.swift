/// The web application firewall: inspects one request against the rule set and returns a verdict
/// with an anomaly score. Synchronous, no shared mutable state: call it from any thread.
public struct WAF: Sendable {
    /// The compiled rules.
    public let ruleSet: WAFRuleSet
    /// Paranoia, threshold and mode, per tenant.
    public let policy: WAFPolicy

    /// A WAF applying `ruleSet` under `policy`.
    public init(ruleSet: WAFRuleSet, policy: WAFPolicy) {
        self.ruleSet = ruleSet
        self.policy = policy
    }

    /// Inspects `request`. Each rule counts at most once (its first matching target); the verdict
    /// blocks when the score reaches the tenant's threshold and the tenant's mode is blocking.
    public func inspect(_ request: InspectedRequest) -> WAFVerdict {
        let settings = policy.settings(for: request.tenant)
        let extracted = RequestFields(request, richText: ruleSet.richText, maximumValueBytes: policy.maximumValueBytes)
        let exclusions = ruleSet.exclusions.filter { $0.route?.matches(extracted.routePath) ?? true }
        let rules = ruleSet.rules
        var matched = [Bool](repeating: false, count: rules.count)
        var matches: [WAFMatch] = []
        var score = 0

        func record(_ index: Int, target: String, fragment: String) {
            let rule = rules[index]
            matched[index] = true
            score += rule.severity.score
            matches.append(WAFMatch(ruleID: rule.id, category: rule.category, target: target, fragment: fragment, score: rule.severity.score))
        }

        for (index, rule) in rules.enumerated() where rule.selector.request && rule.paranoia <= settings.paranoia {
            guard case .protocolCheck(let check, let values) = rule.matcher,
                  !exclusions.contains(where: { $0.fields == nil && $0.covers(rule) }),
                  let violation = check.violation(in: request, allowedValues: values, bodyMalformed: extracted.bodyMalformed)
            else { continue }
            record(index, target: violation.target, fragment: WAFOperator.fragment(violation.fragment))
        }

        var transformed = [[UInt8]?](repeating: nil, count: ruleSet.chains.count)
        for field in extracted.fields {
            for chain in transformed.indices { transformed[chain] = nil }
            for (index, rule) in rules.enumerated() {
                guard !matched[index], rule.paranoia <= settings.paranoia, rule.selector.selects(field),
                      !field.isPlain || rule.inspectsPlainValues else { continue }
                if !exclusions.isEmpty, exclusions.contains(where: { $0.covers(rule) && $0.covers(field) }) { continue }
                let value: [UInt8]
                if let cached = transformed[rule.chain] {
                    value = cached
                } else {
                    value = Self.transform(field.value, rule.transformations)
                    transformed[rule.chain] = value
                }
                if let fragment = rule.matcher.firstMatch(in: value) {
                    record(index, target: field.label, fragment: fragment)
                }
            }
        }
        let reached = score >= settings.inboundThreshold
        return WAFVerdict(
            blocked: reached && !settings.detectionOnly, reachedThreshold: reached, score: score,
            threshold: settings.inboundThreshold, detectionOnly: settings.detectionOnly, matches: matches)
    }

    /// `value` through every transformation of a chain, copying only when one changes it.
    static func transform(_ value: [UInt8], _ chain: [WAFTransformation]) -> [UInt8] {
        var current = value
        for transformation in chain {
            if let next = transformation.apply(current) { current = next }
        }
        return current
    }
}
