import RampartCore
import RampartTransport

/// One JSON line per public request: who asked what of which host and what they got.
public struct AccessLog: Sendable {
    /// One finished request.
    public struct Entry: Sendable {
        public var requestID: String
        public var clientIP: String?
        public var host: String?
        public var tenant: String?
        public var region: String?
        public var method: String
        /// The matched route prefix (never the full path, which may hold ids or tokens), or a
        /// fixed name for answers the edge gives itself.
        public var route: String
        public var status: Int
        public var bytes: Int
        public var duration: Duration
        public var wafScore: Int?
        public var rateLimit: String?
    }

    static let knownMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    let sink: JSONLogHandler.Sink
    /// Where request counts and latencies by route go (the gateway's `/metrics`), if anywhere.
    let metrics: RequestMetrics?

    public init(sink: JSONLogHandler.Sink = .standardOutput, metrics: RequestMetrics? = nil) {
        self.sink = sink
        self.metrics = metrics
    }

    /// The process's access log: standard output in batches of up to 64 KiB, which
    /// ``AccessLogFlusher`` writes out every 200 ms and at shutdown (one write per batch, not per
    /// request, as nginx's `access_log … buffer=`).
    static let batched = AccessLog(sink: .batchedStandardOutput(capacity: 64 * 1024))
    static let batchFlushInterval = Duration.milliseconds(200)

    /// The same log, also counting requests in `metrics` (route label `edge:<route>`).
    public func counting(in metrics: RequestMetrics) -> AccessLog {
        AccessLog(sink: sink, metrics: metrics)
    }

    /// Writes `entry` as one line (absent values are JSON `null`) and counts it.
    public func record(_ entry: Entry) {
        // Labels stay a small set: known methods and route prefixes only.
        let method = Self.knownMethods.contains(entry.method) ? entry.method : "OTHER"
        metrics?.record(method: method, route: "edge:\(entry.route)", status: entry.status, duration: entry.duration)
        let (seconds, attoseconds) = entry.duration.components
        // Milliseconds with three decimals.
        let microseconds = Int(seconds) * 1_000_000 + Int(attoseconds / 1_000_000_000_000)
        // Keys in sorted order, as the service logs write them.
        var line = JSONLine()
        line.add("bytes", entry.bytes)
        line.add("client.ip", entry.clientIP)
        line.add("duration_ms", thousandths: microseconds)
        line.add("http.host", entry.host.map { $0.utf8.count > 255 ? String($0.prefix(255)) : $0 })
        line.add("http.method", entry.method.utf8.count > 16 ? String(entry.method.prefix(16)) : entry.method)
        line.add("http.route", entry.route)
        line.add("http.status", entry.status)
        line.add("level", "info")
        line.add("logger", "rampart-gateway.access")
        line.add("msg", "edge.access")
        line.add("rate_limit", entry.rateLimit)
        line.add("region", entry.region)
        line.add("request.id", entry.requestID)
        line.add("tenant", entry.tenant)
        line.addTimestamp("ts")
        line.add("waf.score", entry.wafScore)
        sink.write(line.finish())
    }
}
