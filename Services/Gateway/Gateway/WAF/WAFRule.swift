/// One rule, compiled from the rules file: which targets it inspects, how it transforms them and
/// what it looks for.
struct WAFRule: Sendable {
    let id: Int
    let category: WAFCategory
    let severity: WAFSeverity
    /// The lowest paranoia level at which the rule runs (1–4).
    let paranoia: Int
    /// What the rule detects, for operators and the documentation; never sent to clients.
    let message: String
    let selector: WAFTargetSelector
    let transformations: [WAFTransformation]
    /// The index of `transformations` among the rule set's distinct chains (values are transformed
    /// once per chain, however many rules share it).
    let chain: Int
    let matcher: WAFOperator
    /// Whether values of only letters, digits and spaces are inspected (most rules cannot match them).
    let inspectsPlainValues: Bool
}
