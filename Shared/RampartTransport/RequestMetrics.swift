import Prometheus
import Synchronization

/// Request counts and latency histograms by route template, in the service's own registry.
public struct RequestMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry

    static let buckets: [Duration] = [
        .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
        .milliseconds(2500), .seconds(5), .seconds(10),
    ]

    /// The registry a service process exposes; swift-metrics is bootstrapped onto it by
    /// ``ServiceMain``, so metrics that libraries emit through swift-metrics appear too.
    public static let processRegistry = PrometheusCollectorRegistry()

    /// The counter and histogram of each (method, route, status) recorded so far: looked up in one
    /// dictionary instead of the registry's two label lookups per request.
    private let recorded = Recorded()

    private final class Recorded: Sendable {
        struct Key: Hashable {
            var method: String
            var route: String
            var status: Int
        }

        let metrics = Mutex<[Key: (Counter, DurationHistogram)]>([:])
    }

    public init(registry: PrometheusCollectorRegistry = RequestMetrics.processRegistry) {
        self.registry = registry
    }

    /// Records one finished request.
    public func record(method: String, route: String, status: Int, duration: Duration) {
        let key = Recorded.Key(method: method, route: route, status: status)
        let (counter, histogram) = recorded.metrics.withLock { known in
            if let found = known[key] { return found }
            let made = (
                registry.makeCounter(
                    name: "http_requests_total",
                    labels: [("method", method), ("route", route), ("status", String(status))],
                    help: "HTTP requests by method, route template and status."
                ),
                registry.makeDurationHistogram(
                    name: "http_request_duration_seconds",
                    labels: [("method", method), ("route", route)],
                    buckets: Self.buckets,
                    help: "HTTP request latency by method and route template."
                )
            )
            known[key] = made
            return made
        }
        counter.increment()
        histogram.record(duration)
    }

    /// Counts a refused internal call (disallowed caller or bad principal).
    public func recordRefusal(reason: String) {
        registry.makeCounter(
            name: "rampart_internal_calls_refused_total",
            labels: [("reason", reason)],
            help: "Internal calls refused by the allow-list or principal verification."
        ).increment()
    }

    /// The registry in Prometheus text format.
    public func exposition() -> String { registry.emitToString() }
}
