/// A component's state as Statuspage names it, ordered from best to worst so hysteresis and the
/// page's overall indicator can compare them.
public enum ComponentStatus: String, Codable, Sendable, CaseIterable, Comparable {
    case operational
    case degradedPerformance = "degraded_performance"
    case partialOutage = "partial_outage"
    case majorOutage = "major_outage"
    case underMaintenance = "under_maintenance"

    /// Severity for comparisons; maintenance is planned, so it ranks between degraded and outage
    /// only for ordering the probe results it never comes from.
    var severity: Int {
        switch self {
        case .operational: 0
        case .degradedPerformance: 1
        case .underMaintenance: 2
        case .partialOutage: 3
        case .majorOutage: 4
        }
    }

    public static func < (lhs: ComponentStatus, rhs: ComponentStatus) -> Bool { lhs.severity < rhs.severity }

    /// The words a reader sees on the page.
    public var label: String {
        switch self {
        case .operational: "Operational"
        case .degradedPerformance: "Degraded performance"
        case .partialOutage: "Partial outage"
        case .majorOutage: "Major outage"
        case .underMaintenance: "Under maintenance"
        }
    }
}
