import Foundation

/// What one probe of one service instance saw.
public struct ProbeResult: Sendable, Equatable {
    /// The HTTP status of `/readyz`; `nil` when nothing answered (refused, timed out, TLS failed).
    public var httpStatus: Int?
    public var latency: Duration
    /// The instance's own database check from its readiness report (`nil`: not reported).
    public var databaseOK: Bool?

    public init(httpStatus: Int?, latency: Duration, databaseOK: Bool?) {
        self.httpStatus = httpStatus
        self.latency = latency
        self.databaseOK = databaseOK
    }

    /// The service's status: ready and fast is operational, ready but slower than `threshold`
    /// is degraded, answering but not ready (a dependency failing) is a partial outage, anything
    /// else a major outage.
    public func status(latencyThreshold threshold: Duration) -> ComponentStatus {
        switch httpStatus {
        case 200: latency > threshold ? .degradedPerformance : .operational
        case 503: .partialOutage
        default: .majorOutage
        }
    }

    /// The region database's status from its services' readiness reports: up when any of them
    /// reaches it, a major outage when those that answered cannot; with no report at all the
    /// database cannot be shown to work, so it is reported down too.
    public static func databaseStatus(from results: [ProbeResult]) -> ComponentStatus {
        results.contains { $0.databaseOK == true } ? .operational : .majorOutage
    }
}
