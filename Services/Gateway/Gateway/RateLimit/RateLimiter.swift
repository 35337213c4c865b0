/// Applies the configured limits to requests: every rule whose route classes and dimensions fit the
/// request counts it, under a key made of the rule's name and the request's dimension values.
public struct RateLimiter: Sendable {
    /// When a limit counts a request. Limits keyed by tenant or by principal count only requests
    /// authenticated as someone of the host's tenant: anyone can send anonymous requests to any
    /// tenant's host, and counting those would let anyone spend a tenant's allowance (two anonymous
    /// requests would use up a burst of two exports). Such a request is counted when it is admitted, and given
    /// back (``refund(_:stage:now:)``) when the service refuses it to whoever asked (401, 403,
    /// 404): a customer's export request, which backup answers 404, does not spend the admins'
    /// exports. Every other limit counts a request as it arrives, before its credential is resolved.
    public enum Stage: Sendable {
        /// Before authentication: limits keyed by address, credential, route class, account.
        case arrival
        /// Authenticated as a principal of the host's tenant: limits keyed by tenant or principal.
        case authenticated
    }

    /// The limits in force.
    public let configuration: RateLimitConfiguration
    private let table: GCRALimiter

    /// A limiter for `configuration`, holding at most about `maximumKeys` keys.
    public init(configuration: RateLimitConfiguration, maximumKeys: Int = 200_000) {
        self.configuration = configuration
        self.table = GCRALimiter(maximumKeys: maximumKeys)
    }

    /// Counts the request against every limit of `stage` that applies to it, stopping at the
    /// first that refuses it. Returns that refusal, or else the applicable decision with the
    /// fewest requests remaining (for the `RateLimit-*` headers); nil when no limit applies.
    /// A refused request counts against no limit: those that counted it before the refusal give
    /// it back, so one principal over their own limit does not go on spending their tenant's.
    public func check(_ subject: RateLimitSubject, stage: Stage, now: ContinuousClock.Instant) -> RateLimitDecision? {
        var tightest: RateLimitDecision?
        for (position, rule) in configuration.rules.enumerated() where rule.stage == stage {
            if let classes = rule.routeClasses, !classes.contains(subject.routeClass) { continue }
            guard let value = Self.keyValue(rule.dimensions, subject) else { continue }
            let decision = table.check(key: RateLimitKey(limit: rule.name, value: value), limit: rule.limit(for: subject.tenant), now: now)
            guard decision.allowed else {
                give(subject, stage: stage, now: now, rules: configuration.rules[..<position])
                return decision
            }
            if tightest.map({ decision.remaining < $0.remaining }) ?? true { tightest = decision }
        }
        return tightest
    }

    /// Gives back a request ``check(_:stage:now:)`` allowed at `stage` (every limit of the stage
    /// that applies to it counted it).
    public func refund(_ subject: RateLimitSubject, stage: Stage, now: ContinuousClock.Instant) {
        give(subject, stage: stage, now: now, rules: configuration.rules[...])
    }

    /// Gives back what `rules` of `stage` that apply to `subject` counted of it.
    private func give(_ subject: RateLimitSubject, stage: Stage, now: ContinuousClock.Instant, rules: ArraySlice<RateLimitConfiguration.Rule>) {
        for rule in rules where rule.stage == stage {
            if let classes = rule.routeClasses, !classes.contains(subject.routeClass) { continue }
            guard let value = Self.keyValue(rule.dimensions, subject) else { continue }
            table.refund(key: RateLimitKey(limit: rule.name, value: value), limit: rule.limit(for: subject.tenant), now: now)
        }
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
