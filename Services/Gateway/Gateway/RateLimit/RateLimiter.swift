/// Applies the configured limits to requests: every rule whose route classes and dimensions fit the
/// request counts it, under a key made of the rule's name and the request's dimension values.
public struct RateLimiter: Sendable {
    /// The limits in force.
    public let configuration: RateLimitConfiguration
    private let table: GCRALimiter

    /// A limiter for `configuration`, holding at most about `maximumKeys` keys.
    public init(configuration: RateLimitConfiguration, maximumKeys: Int = 200_000) {
        self.configuration = configuration
        self.table = GCRALimiter(maximumKeys: maximumKeys)
    }

    /// Counts the request against every applicable limit, stopping at the first that refuses it.
    /// Returns that refusal, or else the applicable decision with the fewest requests remaining
    /// (for the `RateLimit-*` headers); nil when no limit applies.
    public func check(_ subject: RateLimitSubject, now: ContinuousClock.Instant) -> RateLimitDecision? {
        var tightest: RateLimitDecision?
        for rule in configuration.rules {
            if let classes = rule.routeClasses, !classes.contains(subject.routeClass) { continue }
            guard let value = Self.keyValue(rule.dimensions, subject) else { continue }
            let decision = table.check(
                key: RateLimitKey(limit: rule.name, value: value), limit: rule.limit(for: subject.tenant), now: now)
            if !decision.allowed { return decision }
            if tightest.map({ decision.remaining < $0.remaining }) ?? true { tightest = decision }
        }
        return tightest
    }

    /// Drops keys that have gone idle; the edge may call this periodically (full tables do it anyway).
    public func removeExpired(now: ContinuousClock.Instant) {
        table.removeExpired(now: now)
    }

    /// Keys held right now.
    public var keyCount: Int { table.keyCount }

    private static func keyValue(_ dimensions: [RateLimitDimension], _ subject: RateLimitSubject) -> String? {
        var value = ""
        for (index, dimension) in dimensions.enumerated() {
            guard let part = subject.value(of: dimension), !part.isEmpty else { return nil }
            if index > 0 { value += "|" }
            value += part
        }
        return value
    }
}
