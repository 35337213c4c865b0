/// The answer for one request against one limit: whether it may pass and what to tell the client.
public struct RateLimitDecision: Sendable, Equatable {
    /// Whether the request is within the limit (it has been counted if so).
    public let allowed: Bool
    /// The name of the configured limit this decision is about (for logs, never needed by clients).
    public let limitName: String
    /// Requests per period, for `RateLimit-Limit`.
    public let limit: Int
    /// Requests still allowed right now, for `RateLimit-Remaining`.
    public let remaining: Int
    /// Time until the key is back to its full burst, for `RateLimit-Reset`.
    public let resetAfter: Duration
    /// When denied, how long until one request would be allowed, for `Retry-After`.
    public let retryAfter: Duration?

    /// A decision; `remaining` is clamped at zero.
    public init(allowed: Bool, limitName: String, limit: Int, remaining: Int, resetAfter: Duration, retryAfter: Duration?) {
        self.allowed = allowed
        self.limitName = limitName
        self.limit = limit
        self.remaining = max(0, remaining)
        self.resetAfter = resetAfter
        self.retryAfter = retryAfter
    }

    /// The response headers: `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (whole seconds,
    /// rounded up) and, when denied, `Retry-After` (whole seconds, at least 1).
    public var headers: [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = [
            ("RateLimit-Limit", String(limit)),
            ("RateLimit-Remaining", String(remaining)),
            ("RateLimit-Reset", String(Self.wholeSeconds(resetAfter))),
        ]
        if let retryAfter {
            headers.append(("Retry-After", String(max(1, Self.wholeSeconds(retryAfter)))))
        }
        return headers
    }

    /// Seconds rounded up, never negative.
    static func wholeSeconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        if seconds < 0 { return 0 }
        return attoseconds > 0 ? seconds + 1 : seconds
    }
}
