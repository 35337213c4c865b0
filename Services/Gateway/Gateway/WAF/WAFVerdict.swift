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
