import Prometheus

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

    public init(registry: PrometheusCollectorRegistry = RequestMetrics.processRegistry) {
        self.registry = registry
    }

    /// Records one finished request.
    public func record(method: String, route: String, status: Int, duration: Duration) {
        registry.makeCounter(
            name: "http_requests_total",
            labels: [("method", method), ("route", route), ("status", String(status))],
            help: "HTTP requests by method, route template and status."
        ).increment()
        registry.makeDurationHistogram(
            name: "http_request_duration_seconds",
            labels: [("method", method), ("route", route)],
            buckets: Self.buckets,
            help: "HTTP request latency by method and route template."
        ).record(duration)
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
