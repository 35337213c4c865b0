import Foundation
import Logging
import RampartCore
import RampartTransport
import ServiceLifecycle

/// Probes every component of every region each interval over mutual TLS (`/readyz`, allowed for
/// status across regions), publishes through hysteresis and stores the round.
public struct Prober: Service {
    let settings: StatusSettings
    let regions: [Region]
    let client: InternalClient
    let board: ComponentBoard
    let store: ProbeStore
    /// Ids of the components inside an active maintenance window now.
    let maintenance: @Sendable () async -> Set<String>
    /// How long a round waits to store its results before going on without.
    let databaseWait: Duration
    let clock: any StatusClock
    let logger: Logger

    public init(settings: StatusSettings, regions: [Region], client: InternalClient, board: ComponentBoard, store: ProbeStore,
                maintenance: @escaping @Sendable () async -> Set<String>, databaseWait: Duration, clock: any StatusClock, logger: Logger) {
        self.settings = settings
        self.regions = regions
        self.client = client
        self.board = board
        self.store = store
        self.maintenance = maintenance
        self.databaseWait = databaseWait
        self.clock = clock
        self.logger = logger
    }

    /// Probe rounds until graceful shutdown; then closes the probe client's connections.
    public func run() async throws {
        await Periodic.run(every: settings.probeInterval) { await self.round() }
        try await client.shutdown()
    }

    /// One round: every instance probed at once; returns what the page now shows.
    @discardableResult
    public func round() async -> [Component: ComponentStatus] {
        let results = await withTaskGroup(of: (Region, ComponentKind, ProbeResult).self) { group in
            for region in regions {
                for kind in ComponentKind.allCases {
                    guard let service = kind.service, let base = settings.endpoints[region]?[service] else { continue }
                    group.addTask { (region, kind, await probe(base)) }
                }
            }
            var collected: [Region: [ComponentKind: ProbeResult]] = [:]
            for await (region, kind, result) in group { collected[region, default: [:]][kind] = result }
            return collected
        }
        var observed: [Component: ComponentStatus] = [:]
        var latencies: [Component: Duration] = [:]
        for region in regions {
            let regionResults = results[region] ?? [:]
            for (kind, result) in regionResults {
                let component = Component(region: region, kind: kind)
                observed[component] = result.status(latencyThreshold: settings.latencyThreshold)
                latencies[component] = result.httpStatus == nil ? nil : result.latency
            }
            // The gateway has no database: only services with a schema report on it.
            let reports = Array(regionResults.filter { $0.key.service?.ownsSchema == true }.values)
            observed[Component(region: region, kind: .database)] = ProbeResult.databaseStatus(from: reports)
        }
        let now = clock.now()
        let published = await board.record(observed, at: now)
        let underMaintenance = await maintenance()
        let samples = published.map { component, status in
            ProbeStore.Sample(
                component: component, observed: observed[component] ?? status,
                published: underMaintenance.contains(component.id) ? .underMaintenance : status,
                latency: latencies[component]
            )
        }
        do {
            try await withDeadline(databaseWait) { [store] in try await store.record(samples, at: now) }
        } catch {
            // The page keeps the live state in memory; only history misses this round.
            logger.warning("probe.store_failed", metadata: ["error.type": "\(type(of: error))"])
        }
        return published
    }

    private struct Readiness: Decodable {
        var checks: [String: String]?
    }

    /// `GET /readyz` of one instance, timed.
    func probe(_ base: String) async -> ProbeResult {
        let start = ContinuousClock.now
        do {
            let reply = try await client.send(url: base + "/readyz", maximumBodyBytes: 16 * 1024)
            let report = try? JSONDecoder().decode(Readiness.self, from: reply.body)
            return ProbeResult(httpStatus: reply.status, latency: start.duration(to: .now), databaseOK: report?.checks?["database"].map { $0 == "ok" })
        } catch {
            return ProbeResult(httpStatus: nil, latency: start.duration(to: .now), databaseOK: nil)
        }
    }
}
