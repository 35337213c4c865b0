import Foundation
import RampartCore

/// Everything the page, the JSON API and the feeds show, built once per request (or cache
/// period) from the live component board and the stored history.
public struct PageSnapshot: Sendable {
    /// One component as shown: its status now and its uptime.
    public struct ComponentView: Sendable {
        public let component: Component
        /// Operational before its first probe: nothing is known to be wrong yet.
        public let status: ComponentStatus
        public let days: [Uptime.Day]
        /// Uptime over the 90 days of the bars.
        public let span: Double?
        public let month: Double?
    }

    /// One region: its components, the worst of their statuses and their combined uptime.
    public struct RegionView: Sendable {
        public let region: Region
        public let status: ComponentStatus
        public let components: [ComponentView]
        public let days: [Uptime.Day]
        public let span: Double?
        public let month: Double?
    }

    public let generatedAt: Date
    public let regions: [RegionView]
    /// Recent incidents (last 90 days) and open ones, newest first.
    public let incidents: [Incident]
    public let maintenances: [Incident]
    /// When the last probe round finished.
    public let lastProbe: Date?
    /// Whether the service's own database could not be read for this snapshot.
    public let databaseUnavailable: Bool
    /// When incidents and uptime were last read from it (`nil`: never, since start).
    public let storedAsOf: Date?
    public let publicURL: String

    public var components: [ComponentView] { regions.flatMap(\.components) }

    /// Open incidents (not resolved).
    public var unresolved: [Incident] { incidents.filter { !$0.status.isClosed } }

    /// Windows running now.
    public var activeMaintenances: [Incident] {
        maintenances.filter { [.inProgress, .verifying].contains($0.effectiveStatus(at: generatedAt)) }
    }

    /// Windows not started yet.
    public var upcomingMaintenances: [Incident] {
        maintenances.filter { $0.effectiveStatus(at: generatedAt) == .scheduled }.sorted { ($0.scheduledFor ?? .distantPast) < ($1.scheduledFor ?? .distantPast) }
    }

    /// Statuspage's page indicator: the worst of the component statuses and open incidents' impact.
    public var indicator: Incident.Impact {
        let worst = components.map(\.status).max() ?? .operational
        let fromComponents: Incident.Impact = switch worst {
        case .operational: .none
        case .degradedPerformance: .minor
        case .partialOutage: .major
        case .majorOutage: .critical
        case .underMaintenance: .maintenance
        }
        let fromIncidents: Incident.Impact = unresolved.map(\.impact).max() ?? Incident.Impact.none
        if fromComponents == .maintenance, fromIncidents == Incident.Impact.none { return .maintenance }
        return max(fromComponents == .maintenance ? Incident.Impact.none : fromComponents, fromIncidents)
    }

    /// The sentence that goes with the indicator, in Statuspage's words.
    public var indicatorDescription: String {
        switch indicator {
        case .none: "All Systems Operational"
        case .minor: "Minor Service Outage"
        case .major: "Partial System Outage"
        case .critical: "Major Service Outage"
        case .maintenance: "Service Under Maintenance"
        }
    }

    /// When anything shown last changed.
    public var updatedAt: Date {
        ([lastProbe] + (incidents + maintenances).map(\.updatedAt)).compactMap { $0 }.max() ?? generatedAt
    }
}
