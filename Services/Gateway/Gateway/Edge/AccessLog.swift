import Foundation
import RampartCore

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

    let sink: JSONLogHandler.Sink

    public init(sink: JSONLogHandler.Sink = .standardOutput) {
        self.sink = sink
    }

    /// Writes `entry` as one line; absent values are JSON `null`.
    public func record(_ entry: Entry) {
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
            "http.method": entry.method,
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
