/// One rule that matched: for the JSON log line and the audit event.
public struct WAFMatch: Sendable, Equatable {
    /// The rule's id.
    public let ruleID: Int
    /// The rule's category.
    public let category: WAFCategory
    /// Where it matched, for example `args:q`, `json:message.subject`, `header:user-agent`, `path`.
    public let target: String
    /// The matched part of the (transformed) value, at most 64 characters, control characters escaped.
    public let fragment: String
    /// The score the rule added.
    public let score: Int

    /// The longest fragment kept.
    public static let maximumFragmentLength = 64
}
