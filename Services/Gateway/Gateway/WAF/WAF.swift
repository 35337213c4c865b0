/// The web application firewall: inspects one request against the rule set and returns a verdict
/// with an anomaly score. Synchronous; what it keeps between requests (``HeaderFindings``) is
/// kept per thread: call it from any thread.
public struct WAF: Sendable {
    /// The compiled rules.
    public let ruleSet: WAFRuleSet
    /// Paranoia, threshold and mode, per tenant.
    public let policy: WAFPolicy
    /// What the rules found in header values seen before, if remembered.
    let headerFindings: HeaderFindings?

    /// A WAF applying `ruleSet` under `policy`; `remembersHeaders` keeps the findings of header
    /// values seen before (``HeaderFindings``).
    public init(ruleSet: WAFRuleSet, policy: WAFPolicy, remembersHeaders: Bool = true) {
        self.ruleSet = ruleSet
        self.policy = policy
        headerFindings = remembersHeaders ? HeaderFindings() : nil
    }

    /// Inspects `request`. Each rule counts at most once (its first matching target); the verdict
    /// blocks when the score reaches the tenant's threshold and the tenant's mode is blocking.
    public func inspect(_ request: InspectedRequest) -> WAFVerdict {
        let settings = policy.settings(for: request.tenant)
        // Without rules there is nothing to look for: the request is not even taken apart.
        guard !ruleSet.rules.isEmpty else { return .clean(threshold: settings.inboundThreshold, detectionOnly: settings.detectionOnly) }
        let extracted = RequestFields(request, richText: ruleSet.richText, maximumValueBytes: policy.maximumValueBytes)
        let exclusions = ruleSet.exclusions.filter { $0.route?.matches(segments: extracted.routeSegments) ?? true }
        let rules = ruleSet.rules
        let index = ruleSet.index
        var matched = [Bool](repeating: false, count: rules.count)
        var matches: [WAFMatch] = []
        var score = 0

        func record(_ position: Int, target: String, fragment: String) {
            let rule = rules[position]
            matched[position] = true
            score += rule.severity.score
            matches.append(WAFMatch(rule: rule, target: target, fragment: fragment))
        }

        let headers = HeaderSummary(request.headers)
        for position in index.request where index.gates[position].paranoia <= settings.paranoia {
            guard case .protocolCheck(let check, let values) = rules[position].matcher,
                  !exclusions.contains(where: { $0.fields == nil && $0.covers(rules[position]) }),
                  let violation = check.violation(in: request, headers: headers, allowedValues: values, bodyMalformed: extracted.bodyMalformed,
                                                            overflowed: extracted.overflowed)
            else { continue }
            record(position, target: violation.target, fragment: WAFOperator.fragment(violation.fragment))
        }

        let steps = ruleSet.steps
        var transformed = [[UInt8]?](repeating: nil, count: steps.steps.count)
        var normalization = NormalizationMemo()
        for field in extracted.fields {
            let candidates = index.candidates(for: field)
            guard !candidates.isEmpty else { continue }
            // Usually none: exclusions name a few fields (passwords, session cookies).
            let fieldExclusions = exclusions.isEmpty || !ruleSet.mayExclude(field) ? [] : exclusions.filter { $0.covers(field) }
            // A header no exclusion covers here: what its value gave before, if it was seen.
            let remembered = field.kind == .header && fieldExclusions.isEmpty
                ? headerFindings?.key(headerNamed: field.name, value: field.value, paranoia: settings.paranoia) : nil
            if let remembered, let known = headerFindings?.findings(for: remembered) {
                for finding in known where !matched[finding.position] {
                    record(finding.position, target: field.label, fragment: finding.fragment)
                }
                continue
            }
            for step in transformed.indices { transformed[step] = nil }
            var found: [HeaderFindings.Finding] = []
            for position in candidates {
                let gate = index.gates[position]
                // A rule that matched already counts no more; a value to be remembered meets every rule.
                guard remembered != nil || !matched[position], gate.paranoia <= settings.paranoia,
                      !field.isPlain || gate.inspectsPlainValues
                else { continue }
                if !fieldExclusions.isEmpty, fieldExclusions.contains(where: { $0.covers(rules[position]) }) { continue }
                let value = steps.value(ofChain: gate.chain, input: field.value, results: &transformed, memo: &normalization)
                guard let fragment = rules[position].matcher.firstMatch(in: value) else { continue }
                if remembered != nil { found.append(HeaderFindings.Finding(position: position, fragment: fragment)) }
                if !matched[position] { record(position, target: field.label, fragment: fragment) }
            }
            if let remembered { headerFindings?.remember(found, for: remembered) }
        }
        let reached = score >= settings.inboundThreshold
        return WAFVerdict(
            blocked: reached && !settings.detectionOnly, reachedThreshold: reached, score: score,
            threshold: settings.inboundThreshold, detectionOnly: settings.detectionOnly, matches: matches)
    }
}

/// Remembers the last Unicode normalization: several chains normalize the same non-ASCII value,
/// and NFKC is the one transformation that costs microseconds.
struct NormalizationMemo {
    private var input: [UInt8] = []
    private var output: [UInt8]?

    mutating func normalize(_ value: [UInt8]) -> [UInt8]? {
        guard value.contains(where: { $0 >= 0x80 }) else { return nil }
        if value == input { return output }
        input = value
        output = WAFTransformation.unicodeNormalize.apply(value)
        return output
    }
}
