import Foundation
import Yams

/// The WAF's rules, loaded from the rules file (`Deploy/waf/rules.yaml`) and compiled once:
/// regular expressions, phrase automata and transformation chains are built at load, and a bad
/// file is refused with an error naming the rule.
public struct WAFRuleSet: Sendable {
    /// Fields that carry legitimate HTML and code on a route (ticket message bodies).
    struct RichTextRoute: Sendable {
        let route: RoutePattern
        let fields: Set<String>
    }

    let rules: [WAFRule]
    /// Distinct transformation chains; `WAFRule.chain` indexes this.
    let chains: [[WAFTransformation]]
    /// `chains` as a tree of shared steps, which inspection runs.
    let steps: TransformationSteps
    let exclusions: [WAFExclusion]
    let richText: [RichTextRoute]
    /// Rules by the kinds of value they inspect.
    let index: WAFRuleIndex
    /// Every field name some exclusion lists (a field not named here needs no exclusion check).
    let excludedFieldNames: Set<String>
    /// The lengths of `excludedFieldNames` in bytes (bit n: a name of n bytes; bit 63: of 63 or
    /// more), so most fields are ruled out without hashing their names; every bit when an
    /// excluded name is not ASCII.
    let excludedNameLengths: UInt64
    /// Whether some exclusion applies to every field.
    let hasExclusionForAllFields: Bool

    /// The ids of the loaded rules, in file order.
    public var ruleIDs: [Int] { rules.map(\.id) }

    /// Parses and compiles the YAML (or JSON) rules document.
    public init(yaml: String) throws {
        let document: WAFRulesDocument
        do {
            document = try YAMLDecoder().decode(WAFRulesDocument.self, from: yaml)
        } catch let error as DecodingError {
            throw WAFRuleSetError.malformed(Self.describe(error))
        } catch {
            throw WAFRuleSetError.malformed(String(describing: error))
        }
        guard document.version == 1 else { throw WAFRuleSetError.unsupportedVersion(document.version) }
        var chains: [[WAFTransformation]] = []
        var rules: [WAFRule] = []
        var ids = Set<Int>()
        for (index, entry) in document.rules.enumerated() {
            let rule = try Self.compile(entry, position: index + 1, chains: &chains)
            guard ids.insert(rule.id).inserted else {
                throw WAFRuleSetError.invalidRule(id: rule.id, position: index + 1, reason: "duplicate id")
            }
            rules.append(rule)
        }
        self.rules = rules
        self.chains = chains
        self.steps = TransformationSteps(chains)
        self.index = WAFRuleIndex(rules)
        self.richText = try (document.richText ?? []).map { entry in
            guard let route = RoutePattern(entry.route) else { throw WAFRuleSetError.invalidRoute(entry.route) }
            return RichTextRoute(route: route, fields: Set(entry.fields))
        }
        self.exclusions = try (document.exclusions ?? []).map { entry in
            var route: RoutePattern?
            if let pattern = entry.route {
                guard let compiled = RoutePattern(pattern) else { throw WAFRuleSetError.invalidRoute(pattern) }
                route = compiled
            }
            for id in entry.ruleIDs ?? [] where !ids.contains(id) {
                throw WAFRuleSetError.invalidExclusion("excludes unknown rule \(id)")
            }
            let categories = try entry.categories.map { names in
                try Set(names.map { name in
                    guard let category = WAFCategory(rawValue: name) else { throw WAFRuleSetError.invalidExclusion("unknown category \"\(name)\"") }
                    return category
                })
            }
            return WAFExclusion(route: route, fields: entry.fields.map(Set.init), ruleIDs: entry.ruleIDs.map(Set.init), categories: categories)
        }
        self.excludedFieldNames = exclusions.reduce(into: Set<String>()) { $0.formUnion($1.fields ?? []) }
        self.hasExclusionForAllFields = exclusions.contains { $0.fields == nil }
        self.excludedNameLengths = excludedFieldNames.allSatisfy(ASCII.isASCII) ? excludedFieldNames.reduce(0) { $0 | Self.lengthBit($1) } : .max
    }

    /// Whether an exclusion might cover `field`.
    func mayExclude(_ field: RequestField) -> Bool {
        hasExclusionForAllFields || mayBeExcluded(field.name) || field.leafName != field.name && mayBeExcluded(field.leafName)
    }

    /// A length no excluded name has rules out only an ASCII name: strings compare by canonical
    /// equivalence, and another spelling of a name (a Kelvin sign for `K`) has other bytes.
    private func mayBeExcluded(_ name: String) -> Bool {
        if excludedNameLengths & Self.lengthBit(name) == 0, ASCII.isASCII(name) { return false }
        return excludedFieldNames.contains(name)
    }

    private static func lengthBit(_ name: String) -> UInt64 {
        1 << min(name.utf8.count, 63)
    }

    /// Reads the rules file at `path`.
    public init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else { throw WAFRuleSetError.unreadable(path) }
        try self.init(yaml: String(decoding: data, as: UTF8.self))
    }

    private static func compile(_ entry: WAFRulesDocument.Rule, position: Int, chains: inout [[WAFTransformation]]) throws -> WAFRule {
        func invalid(_ reason: String) -> WAFRuleSetError {
            WAFRuleSetError.invalidRule(id: entry.id, position: position, reason: reason)
        }
        guard let id = entry.id, id > 0 else { throw invalid("missing or non-positive id") }
        guard let categoryName = entry.category, let category = WAFCategory(rawValue: categoryName) else {
            throw invalid("unknown category \"\(entry.category ?? "")\"")
        }
        guard let severityName = entry.severity, let severity = WAFSeverity(rawValue: severityName) else {
            throw invalid("unknown severity \"\(entry.severity ?? "")\" (critical, error, warning, notice)")
        }
        let paranoia = entry.paranoia ?? 1
        guard (1...4).contains(paranoia) else { throw invalid("paranoia must be 1 to 4") }
        guard let targetNames = entry.targets, !targetNames.isEmpty else { throw invalid("no targets") }
        let selector: WAFTargetSelector
        do {
            selector = try WAFTargetSelector(targetNames)
        } catch let error as WAFTargetSelectorError {
            throw invalid("unknown target \"\(error.name)\"")
        }
        let transformations = try (entry.transformations ?? []).map { name in
            guard let transformation = WAFTransformation(rawValue: name) else { throw invalid("unknown transformation \"\(name)\"") }
            return transformation
        }
        guard let operation = entry.operator else { throw invalid("no operator") }
        let matcher = try compileOperator(operation, invalid: invalid)
        if case .protocolCheck = matcher {
            guard selector.request, selector.kinds == 0 else { throw invalid("a check must target `request` only") }
        } else if selector.request {
            throw invalid("only checks can target `request`")
        }
        let chain: Int
        if let existing = chains.firstIndex(of: transformations) {
            chain = existing
        } else {
            chains.append(transformations)
            chain = chains.count - 1
        }
        return WAFRule(
            id: id, category: category, severity: severity, paranoia: paranoia, message: entry.message ?? "",
            selector: selector, transformations: transformations, chain: chain, matcher: matcher,
            inspectsPlainValues: entry.inspectPlain ?? false)
    }

    private static func compileOperator(_ operation: WAFRulesDocument.Operator, invalid: (String) -> WAFRuleSetError) throws -> WAFOperator {
        let given = [operation.regex != nil, operation.phrases != nil, operation.detect != nil, operation.check != nil].filter { $0 }.count
        guard given == 1 else { throw invalid("operator needs exactly one of regex, phrases, detect, check") }
        if let pattern = operation.regex {
            let regex: CompiledRegex
            do {
                regex = try CompiledRegex(pattern)
            } catch {
                throw invalid("regular expression does not compile")
            }
            return .regex(regex, prefilter: operation.prefilter.map(PhraseMatcher.init))
        }
        if let phrases = operation.phrases {
            guard !phrases.isEmpty, phrases.allSatisfy({ !$0.isEmpty }) else { throw invalid("empty phrase list or phrase") }
            return .phrases(PhraseMatcher(phrases))
        }
        if let detector = operation.detect {
            switch detector {
            case "sqli": return .sqlInjection
            case "xss": return .crossSiteScripting
            case "html_executable": return .executableHTML
            default: throw invalid("unknown detector \"\(detector)\" (sqli, xss, html_executable)")
            }
        }
        guard let name = operation.check, let check = ProtocolCheck(rawValue: name) else {
            throw invalid("unknown check \"\(operation.check ?? "")\"")
        }
        return .protocolCheck(check, values: Set(operation.values ?? []))
    }

    /// Where in the document a decoding error is, as `rules[3].paranoia`.
    private static func describe(_ error: DecodingError) -> String {
        let (context, what): (DecodingError.Context, String) =
            switch error {
            case .typeMismatch(_, let context): (context, "wrong type")
            case .valueNotFound(_, let context): (context, "missing value")
            case .keyNotFound(let key, let context): (context, "missing key \(key.stringValue)")
            case .dataCorrupted(let context): (context, "unreadable")
            @unknown default: (DecodingError.Context(codingPath: [], debugDescription: ""), "unreadable")
            }
        var path = ""
        for key in context.codingPath {
            if let index = key.intValue { path += "[\(index)]" } else { path += (path.isEmpty ? "" : ".") + key.stringValue }
        }
        return path.isEmpty ? what : "\(path): \(what)"
    }
}
