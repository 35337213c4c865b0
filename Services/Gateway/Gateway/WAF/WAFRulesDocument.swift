/// The rules file as written; `WAFRuleSet` validates and compiles it. Every rule field is optional
/// here so that a missing one is reported against its rule rather than as a decoding error.
struct WAFRulesDocument: Decodable {
    struct Rule: Decodable {
        var id: Int?
        var category: String?
        var severity: String?
        var paranoia: Int?
        var message: String?
        var targets: [String]?
        var transformations: [String]?
        var `operator`: Operator?
        var inspectPlain: Bool?

        enum CodingKeys: String, CodingKey {
            case id, category, severity, paranoia, message, targets, transformations, `operator`
            case inspectPlain = "inspect_plain"
        }
    }

    struct Operator: Decodable {
        var regex: String?
        var prefilter: [String]?
        var phrases: [String]?
        var detect: String?
        var check: String?
        var values: [String]?
    }

    struct RichText: Decodable {
        var route: String
        var fields: [String]
    }

    struct Exclusion: Decodable {
        var description: String?
        var route: String?
        var fields: [String]?
        var ruleIDs: [Int]?
        var categories: [String]?

        enum CodingKeys: String, CodingKey {
            case description, route, fields, categories
            case ruleIDs = "rule_ids"
        }
    }

    var version: Int
    var rules: [Rule]
    var richText: [RichText]?
    var exclusions: [Exclusion]?

    enum CodingKeys: String, CodingKey {
        case version, rules, exclusions
        case richText = "rich_text"
    }
}

/// Why a rules file was refused; rule errors name the rule.
public enum WAFRuleSetError: Error, Equatable, CustomStringConvertible {
    case unreadable(String)
    case malformed(String)
    case unsupportedVersion(Int)
    case invalidRule(id: Int?, position: Int, reason: String)
    case invalidRoute(String)
    case invalidExclusion(String)

    public var description: String {
        switch self {
        case .unreadable(let path): "cannot read WAF rules file \(path)"
        case .malformed(let detail): "WAF rules file is not valid: \(detail)"
        case .unsupportedVersion(let version): "WAF rules file version \(version) is not supported (expected 1)"
        case .invalidRule(let id, let position, let reason):
            "WAF rule \(id.map(String.init) ?? "without id") (number \(position) in the file): \(reason)"
        case .invalidRoute(let route): "WAF route pattern \"\(route)\" must start with /"
        case .invalidExclusion(let reason): "WAF exclusion: \(reason)"
        }
    }
}
