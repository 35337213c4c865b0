/// One rule that matched: for the JSON log line and the audit event.
public struct WAFMatch: Sendable, Equatable {
    /// The rule's id.
    public let ruleID: Int
    /// The rule's category.
    public let category: WAFCategory
    /// Where it matched, for example `args:q`, `json:message.subject`, `header:user-agent`, `path`.
    public let target: String
    /// The matched part of the (transformed) value, at most 64 characters, control characters
    /// escaped; ``withheld`` when the target holds a credential (``holdsCredential(_:)``).
    public let fragment: String
    /// The score the rule added.
    public let score: Int

    /// The longest fragment kept.
    public static let maximumFragmentLength = 64

    /// The fragment of a match in a credential: the rule, target and score are recorded, the value never.
    public static let withheld = "(withheld: credential)"

    /// A match of `rule` in `target`; the fragment is replaced by ``withheld`` when the target
    /// holds a credential, so neither the log line nor the audit event can carry one.
    init(rule: WAFRule, target: String, fragment: String) {
        ruleID = rule.id
        category = rule.category
        self.target = target
        self.fragment = Self.holdsCredential(target) ? Self.withheld : fragment
        score = rule.severity.score
    }

    /// Header names whose values are credentials or tokens.
    static let credentialHeaders: Set<String> = [
        "authorization", "proxy-authorization", "cookie", "x-csrf-token", "x-api-key", "x-auth-token", "x-amz-security-token",
    ]
    /// Words that make a field name a secret's: `password`, `client_secret`, `refresh_token`, `api_key` …
    static let secretNameWords = ["password", "passwd", "secret", "token", "api_key", "apikey", "credential", "session", "csrf"]

    /// Whether a match in `target` (`header:authorization`, `cookie:sid`, `json:auth.password`)
    /// may have matched a credential: credential headers, every cookie value, any field named
    /// like a secret, and a body inspected whole (`json:(body)`, one that could not be taken
    /// apart: a sign-in's password may be anywhere in it).
    static func holdsCredential(_ target: String) -> Bool {
        guard let colon = target.firstIndex(of: ":") else { return false }
        let kind = target[..<colon]
        let name = target[target.index(after: colon)...].lowercased()
        if name == "(body)" { return true }
        switch kind {
        case "header": return credentialHeaders.contains(name) || secretNameWords.contains { name.contains($0) }
        case "cookie": return true
        default: return secretNameWords.contains { name.contains($0) }
        }
    }
}
