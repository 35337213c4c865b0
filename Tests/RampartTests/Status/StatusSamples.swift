import Foundation
import RampartCore
@testable import Status
import Synchronization

/// A clock tests set by hand.
final class ManualClock: StatusClock {
    private let current: Mutex<Date>

    init(_ date: Date) { current = Mutex(date) }

    func now() -> Date { current.withLock { $0 } }

    func set(_ date: Date) { current.withLock { $0 = date } }

    func advance(by seconds: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
}

/// Page snapshots built in memory, for the JSON shapes and the rendering.
enum StatusSamples {
    static let eu = Region(rawValue: "eu")!
    static let us = Region(rawValue: "us")!
    /// 2026-11-29T12:00:00Z.
    static let now = Date(timeIntervalSince1970: 1_795_953_600)

    static let editor = IncidentEditor(regions: [eu, us], origin: eu)

    /// An open incident with two updates on eu-tickets.
    static func openIncident(name: String = "Ticket search is slow", security: Bool = false) throws -> Incident {
        let created = try editor.create(.init(name: name, message: "We are looking into slow searches.", impact: "major", status: nil,
                                              components: ["eu-tickets"], security: security), author: "alice", now: now.addingTimeInterval(-3600))
        return try editor.update(created, with: .init(status: "identified", message: "An index is rebuilding.", impact: nil, components: nil),
                                 author: "alice", now: now.addingTimeInterval(-1800))
    }

    /// A resolved incident of last week.
    static func resolvedIncident() throws -> Incident {
        let created = try editor.create(.init(name: "Sign-in errors", message: "Some sign-ins fail.", impact: "minor", status: nil,
                                              components: ["us-identity"], security: nil), author: "bob", now: now.addingTimeInterval(-7 * 86400))
        return try editor.update(created, with: .init(status: "resolved", message: "Fixed.", impact: nil, components: nil),
                                 author: "bob", now: now.addingTimeInterval(-7 * 86400 + 600))
    }

    /// A window tomorrow on the eu database.
    static func upcomingMaintenance() throws -> Incident {
        try editor.schedule(.init(name: "Database upgrade", message: "PostgreSQL minor upgrade.", scheduledFor: now.addingTimeInterval(86400),
                                  scheduledUntil: now.addingTimeInterval(86400 + 3600), components: ["eu-database"]), author: "alice", now: now)
    }

    static func snapshot(
        statuses: [String: ComponentStatus] = [:], incidents: [Incident] = [], maintenances: [Incident] = [],
        counts: [DayStamp: SampleCounts] = [:], databaseUnavailable: Bool = false
    ) -> PageSnapshot {
        let today = DayStamp(now)
        let regions = [eu, us].map { region in
            let components = ComponentKind.allCases.map { kind in
                let component = Component(region: region, kind: kind)
                return PageSnapshot.ComponentView(
                    component: component, status: statuses[component.id] ?? .operational, days: Uptime.series(counts, endingOn: today),
                    span: Uptime.span(counts, endingOn: today), month: Uptime.month(counts, containing: today)
                )
            }
            return PageSnapshot.RegionView(region: region, status: components.map(\.status).max() ?? .operational, components: components,
                                           days: Uptime.series(counts, endingOn: today), span: Uptime.span(counts, endingOn: today),
                                           month: Uptime.month(counts, containing: today))
        }
        return PageSnapshot(generatedAt: now, regions: regions, incidents: incidents, maintenances: maintenances, lastProbe: now.addingTimeInterval(-10),
                            databaseUnavailable: databaseUnavailable, storedAsOf: databaseUnavailable ? now.addingTimeInterval(-300) : now,
                            publicURL: "https://status.example.test")
    }
}
