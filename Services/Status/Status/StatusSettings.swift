import Foundation
import RampartCore

/// The status service's own configuration, read from the validated source like the gateway's
/// edge keys: where every region's instances are, how often to probe and what counts as slow.
public struct StatusSettings: Sendable {
    /// Internal base URL of every service instance of every region (`endpoints.json`).
    public var endpoints: [Region: [ServiceName: String]]
    /// Time between probe rounds (30 s by default).
    public var probeInterval: Duration
    /// A healthy answer slower than this is `degraded_performance`.
    public var latencyThreshold: Duration
    /// Consecutive results needed before the published status moves (hysteresis).
    public var confirmations: Int
    /// The public address of the page, for links in the JSON and the feeds.
    public var publicURL: String

    public init(endpoints: [Region: [ServiceName: String]], probeInterval: Duration = .seconds(30), latencyThreshold: Duration = .seconds(1),
                confirmations: Int = 2, publicURL: String) {
        self.endpoints = endpoints
        self.probeInterval = probeInterval
        self.latencyThreshold = latencyThreshold
        self.confirmations = confirmations
        self.publicURL = publicURL
    }

    /// Reads ``ServiceConfig/statusKeys`` from `config.source`; the endpoints file must list every configured region.
    public init(config: ServiceConfig) throws {
        let source = config.source
        let path = try source.readableFile("RAMPART_STATUS_ENDPOINTS")
        endpoints = try ServiceEndpoints.load(atPath: path, regions: config.regions, key: "RAMPART_STATUS_ENDPOINTS")
        probeInterval = try source.value("RAMPART_STATUS_PROBE_INTERVAL_SECONDS", default: .seconds(30), expected: "a whole number of seconds (1-3600)") { raw in
            Int(raw).flatMap { (1...3600).contains($0) ? Duration.seconds($0) : nil }
        }
        latencyThreshold = try source.value("RAMPART_STATUS_LATENCY_THRESHOLD_MS", default: .seconds(1), expected: "a whole number of milliseconds (1-60000)") { raw in
            Int(raw).flatMap { (1...60000).contains($0) ? Duration.milliseconds($0) : nil }
        }
        confirmations = try source.value("RAMPART_STATUS_CONFIRMATIONS", default: 2, expected: "a whole number (1-10)") { raw in
            Int(raw).flatMap { (1...10).contains($0) ? $0 : nil }
        }
        publicURL = try source.value("RAMPART_STATUS_PUBLIC_URL", default: "https://status.\(config.baseDomain)", expected: "an https:// URL") { raw in
            raw.hasPrefix("https://") && !raw.contains(where: { $0 == "\"" || $0 == "<" || $0 == ">" || $0 == " " }) ? String(raw.trimmingSuffix("/")) : nil
        }
    }
}

extension String {
    /// The string without trailing copies of `suffix`.
    func trimmingSuffix(_ suffix: Character) -> Substring {
        var text = Substring(self)
        while text.last == suffix { text = text.dropLast() }
        return text
    }
}
