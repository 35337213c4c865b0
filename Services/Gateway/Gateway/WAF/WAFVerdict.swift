/// The WAF's answer for one request. Meant for the edge and the logs, never for the client:
/// a blocked request gets a 403 with a request id and nothing of this.
public struct WAFVerdict: Sendable {
    /// Whether the edge must refuse the request (the score reached the threshold and the tenant's
    /// policy is blocking).
    public let blocked: Bool
    /// Whether the score reached the threshold, whatever the mode (true and `blocked` false means
    /// detection-only mode let it through).
    public let reachedThreshold: Bool
    /// The anomaly score: the sum of the scores of the rules that matched.
    public let score: Int
    /// The threshold that applied.
    public let threshold: Int
    /// Whether the tenant's policy was detection-only.
    public let detectionOnly: Bool
    /// The rules that matched, one entry per rule (its first matching target).
    public let matches: [WAFMatch]

    /// A request nothing matched.
    static func clean(threshold: Int, detectionOnly: Bool) -> WAFVerdict {
        WAFVerdict(blocked: false, reachedThreshold: false, score: 0, threshold: threshold, detectionOnly: detectionOnly, matches: [])
    }
}

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
