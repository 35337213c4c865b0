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
