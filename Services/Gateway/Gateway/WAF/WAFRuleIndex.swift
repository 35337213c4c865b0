/// Which rules look at which kind of value, worked out once when the rules load, so inspecting a
/// field walks only the rules that select it and reads only plain values per rule (no rule copies).
struct WAFRuleIndex: Sendable {
    /// What the inner loop needs of a rule, trivially copyable.
    struct Gate: Sendable {
        let paranoia: Int
        let inspectsPlainValues: Bool
        let chain: Int
    }

    /// Per rule, in rule order.
    let gates: [Gate]
    /// Rule indices by `WAFTargetKind.rawValue` (headers excepted), in rule order.
    let byKind: [[Int]]
    /// Rules inspecting every header except credentials and cookies.
    let allHeaders: [Int]
    /// The rules inspecting a header some rule names, by lowercased header name: those naming it
    /// plus (unless it is a credential or cookie header) those inspecting every header, merged
    /// and in rule order once here rather than per request.
    let namedHeaders: [String: [Int]]
    /// Rules running request-level checks.
    let request: [Int]

    init(_ rules: [WAFRule]) {
        gates = rules.map { Gate(paranoia: $0.paranoia, inspectsPlainValues: $0.inspectsPlainValues, chain: $0.chain) }
        var byKind = [[Int]](repeating: [], count: WAFTargetKind.allCases.count)
        var allHeaders: [Int] = []
        var namedHeaders: [String: [Int]] = [:]
        var request: [Int] = []
        for (index, rule) in rules.enumerated() {
            if rule.selector.request { request.append(index) }
            for kind in WAFTargetKind.allCases where rule.selector.kinds & kind.bit != 0 {
                guard kind == .header else {
                    byKind[kind.rawValue].append(index)
                    continue
                }
                for name in rule.selector.headerNames { namedHeaders[name, default: []].append(index) }
                if rule.selector.allHeaders { allHeaders.append(index) }
            }
        }
        self.byKind = byKind
        self.allHeaders = allHeaders
        self.namedHeaders = namedHeaders.reduce(into: [:]) { merged, entry in
            merged[entry.key] = WAFTargetSelector.skippedHeaders.contains(entry.key) ? entry.value : Array(Set(allHeaders + entry.value)).sorted()
        }
        self.request = request
    }

    /// The rules that inspect `field`, in rule order.
    func candidates(for field: RequestField) -> [Int] {
        guard field.kind == .header else { return byKind[field.kind.rawValue] }
        if let named = namedHeaders[field.name] { return named }
        return WAFTargetSelector.skippedHeaders.contains(field.name) ? [] : allHeaders
    }
}
