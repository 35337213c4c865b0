/// One limit: `requests` per `period`, of which up to `burst` may arrive at once (GCRA parameters).
public struct RateLimit: Sendable, Hashable {
    /// Requests allowed per period, sustained; what `RateLimit-Limit` reports.
    public let requests: Int
    /// The period the requests are counted over.
    public let period: Duration
    /// Requests that may arrive back to back after a quiet period; at least 1.
    public let burst: Int

    /// Time between two requests at the sustained rate (GCRA's emission interval).
    public let emissionInterval: Duration
    /// How far ahead of `now` the theoretical arrival time may run (GCRA's tolerance plus one interval).
    let capacity: Duration

    /// A limit of `requests` per `period` with `burst` (defaults to `requests`); nil when a value is not positive.
    public init?(requests: Int, period: Duration, burst: Int? = nil) {
        let burst = burst ?? requests
        guard requests > 0, burst > 0, period > .zero else { return nil }
        self.requests = requests
        self.period = period
        self.burst = burst
        self.emissionInterval = period / requests
        self.capacity = emissionInterval * burst
    }

    /// This limit's share on one of `replicas` gateway replicas: requests and burst divided, rounded up.
    public func share(ofReplicas replicas: Int) -> RateLimit {
        guard replicas > 1 else { return self }
        let requests = (self.requests + replicas - 1) / replicas
        let burst = (self.burst + replicas - 1) / replicas
        return RateLimit(requests: requests, period: period, burst: burst) ?? self
    }
}
