import Foundation
import Logging
import RampartCore

/// Builds page snapshots: component statuses live from the board, incidents and uptime from the
/// database, read at most every few seconds. When the database does not answer, the last
/// stored parts are served with a notice instead of an error.
public actor PageSource {
    private struct Stored: Sendable {
        var incidents: [Incident]
        var counts: [String: [DayStamp: SampleCounts]]
        var readAt: Date
    }

    let incidents: IncidentRepository
    let probes: ProbeStore
    let board: ComponentBoard
    let regions: [Region]
    let clock: any StatusClock
    let publicURL: String
    let logger: Logger
    /// How long a successful read is reused; writes through this instance invalidate it at once.
    let freshFor: Duration
    /// How long a page waits for the database before answering from what it has.
    let readLimit: Duration
    /// How often an unreachable database is tried again.
    let retryAfter: Duration

    private var stored: Stored?
    private var lastRead: ContinuousClock.Instant?
    private var lastAttempt: ContinuousClock.Instant?
    private var unavailable = false

    public init(incidents: IncidentRepository, probes: ProbeStore, board: ComponentBoard, regions: [Region], clock: any StatusClock,
                publicURL: String, logger: Logger, freshFor: Duration = .seconds(10), readLimit: Duration = .seconds(3)) {
        self.incidents = incidents
        self.probes = probes
        self.board = board
        self.regions = regions
        self.clock = clock
        self.publicURL = publicURL
        self.logger = logger
        self.freshFor = freshFor
        self.readLimit = readLimit
        retryAfter = min(.seconds(5), freshFor)
    }

    /// Forgets the cached read, so the next page shows a write at once.
    public func invalidate() {
        lastRead = nil
        lastAttempt = nil
    }

    /// The page as of now.
    public func snapshot() async -> PageSnapshot {
        await refresh()
        let now = clock.now()
        let today = DayStamp(now)
        let live = await board.published()
        let all = stored?.incidents ?? []
        let maintenances = all.filter { $0.kind == .maintenance }
        let underMaintenance = Self.componentsUnderMaintenance(maintenances, at: now)
        let regionViews = regions.map { region in
            var counts: [[DayStamp: SampleCounts]] = []
            let components = ComponentKind.allCases.map { kind in
                let component = Component(region: region, kind: kind)
                let componentCounts = stored?.counts[component.id] ?? [:]
                counts.append(componentCounts)
                return PageSnapshot.ComponentView(
                    component: component,
                    status: underMaintenance.contains(component.id) ? .underMaintenance : (live[component] ?? .operational),
                    days: Uptime.series(componentCounts, endingOn: today),
                    span: Uptime.span(componentCounts, endingOn: today),
                    month: Uptime.month(componentCounts, containing: today)
                )
            }
            let combined = Uptime.combined(counts)
            return PageSnapshot.RegionView(
                region: region, status: components.map(\.status).max() ?? .operational, components: components,
                days: Uptime.series(combined, endingOn: today), span: Uptime.span(combined, endingOn: today), month: Uptime.month(combined, containing: today)
            )
        }
        return PageSnapshot(
            generatedAt: now, regions: regionViews, incidents: all.filter { $0.kind == .incident }, maintenances: maintenances,
            lastProbe: await board.lastRound, databaseUnavailable: unavailable, storedAsOf: stored?.readAt, publicURL: publicURL
        )
    }

    /// Ids of components inside a maintenance window now, from the last stored read.
    public func maintenanceComponents() async -> Set<String> {
        await refresh()
        return Self.componentsUnderMaintenance((stored?.incidents ?? []).filter { $0.kind == .maintenance }, at: clock.now())
    }

    static func componentsUnderMaintenance(_ maintenances: [Incident], at now: Date) -> Set<String> {
        Set(maintenances.filter { [.inProgress, .verifying].contains($0.effectiveStatus(at: now)) }.flatMap(\.componentIDs))
    }

    /// Reads incidents and 90 days of counts unless a recent read (or a recent failure) stands.
    private func refresh() async {
        let instant = ContinuousClock.now
        if !unavailable, let lastRead, lastRead.duration(to: instant) < freshFor { return }
        if unavailable, let lastAttempt, lastAttempt.duration(to: instant) < retryAfter { return }
        lastAttempt = instant
        let now = clock.now()
        let first = DayStamp(now).adding(days: -(Uptime.days - 1))
        let since = first.start
        do {
            let (incidents, counts) = try await withDeadline(readLimit) { [incidents, probes] in
                (try await incidents.recent(since: since), try await probes.dailyCounts(from: first))
            }
            stored = Stored(incidents: incidents, counts: counts, readAt: now)
            lastRead = instant
            if unavailable { logger.notice("page.database_recovered") }
            unavailable = false
        } catch {
            if !unavailable { logger.error("page.database_unavailable", metadata: ["error.type": "\(type(of: error))"]) }
            unavailable = true
        }
    }
}
