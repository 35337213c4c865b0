import Foundation
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
        let milliseconds = ((Double(seconds) * 1000 + Double(attoseconds) / 1e15) * 1000).rounded() / 1000
        let object: [String: Any] = [
            "ts": Date.now.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted)),
            "msg": "edge.access",
            "logger": "rampart-gateway.access",
            "level": "info",
            "request.id": entry.requestID,
            "client.ip": entry.clientIP ?? NSNull(),
            "http.host": entry.host.map { String($0.prefix(255)) } ?? NSNull(),
            "tenant": entry.tenant ?? NSNull(),
            "region": entry.region ?? NSNull(),
            "http.method": String(entry.method.prefix(16)),
            "http.route": entry.route,
            "http.status": entry.status,
            "bytes": entry.bytes,
            "duration_ms": milliseconds,
            "waf.score": entry.wafScore ?? NSNull(),
            "rate_limit": entry.rateLimit ?? NSNull(),
        ]
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else { return }
        sink.write(String(decoding: data, as: UTF8.self))
    }
}
