/// A false-positive exclusion from the rules file: on matching routes (all when none), the listed
/// rules or categories (all when none) do not inspect the listed fields (all when none).
struct WAFExclusion: Sendable {
    let route: RoutePattern?
    /// Field names: a query, form or cookie name, a JSON path or its last component, a lowercased header name.
    let fields: Set<String>?
    let ruleIDs: Set<Int>?
    let categories: Set<WAFCategory>?

    /// Whether the exclusion covers `rule`.
    func covers(_ rule: WAFRule) -> Bool {
        if ruleIDs == nil, categories == nil { return true }
        return ruleIDs?.contains(rule.id) == true || categories?.contains(rule.category) == true
    }

    /// Whether the exclusion covers `field`. Naming fields excludes their values: a multipart
    /// part's name and file name are never excluded by it (a file part may be called anything,
    /// `body` included, and its name is what the service stores).
    func covers(_ field: RequestField) -> Bool {
        guard let fields else { return true }
        guard field.kind != .path else { return fields.contains("path") }
        guard field.kind != .multipartFilename, field.kind != .multipartName else { return false }
        return fields.contains(field.name) || fields.contains(field.leafName)
    }
}
