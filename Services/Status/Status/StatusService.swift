import Foundation
import Hummingbird
import RampartCore
import RampartStorage
import RampartTransport
import ServiceLifecycle

/// `rampart-status`: probes every component of every region, keeps uptime history, incidents and
/// maintenance, and serves the public page, the Statuspage-compatible API and the feeds. One
/// instance runs per region; each can serve the whole page from its own schema.
public enum StatusService {
    /// Prepares the runtime (configuration files, database, migrations) and builds the application.
    public static func buildApplication(_ config: ServiceConfig) async throws -> some ApplicationProtocol {
        let settings = try StatusSettings(config: config)
        let runtime = try await ServiceRuntime.prepare(config: config, migrations: StatusMigrations.all)
        let instance = try StatusInstance(runtime: runtime, settings: settings, clock: SystemClock())
        return try ServiceApplication.build(runtime: runtime, services: instance.services) { router in
            instance.register(on: router)
        }
    }
}

/// The parts of one status instance, built once from the runtime; tests build the same and drive
/// probe rounds and deliveries themselves.
public struct StatusInstance: Sendable {
    public let board: ComponentBoard
    public let probes: ProbeStore
    public let incidents: IncidentRepository
    public let source: PageSource
    public let prober: Prober
    public let replicator: Replicator
    let editor: IncidentEditor
    let runtime: ServiceRuntime
    let clock: any StatusClock

    /// `pageFreshness`: how long a database read serves pages; `databaseWait`: how long a page or
    /// a probe round waits for the database before going on without it.
    public init(runtime: ServiceRuntime, settings: StatusSettings, clock: any StatusClock,
                pageFreshness: Duration = .seconds(10), databaseWait: Duration = .seconds(3)) throws {
        guard let database = runtime.database else { throw ConfigError(key: "RAMPART_DATABASE_URL", reason: "is required") }
        let config = runtime.config
        let components = Component.all(in: config.regions)
        let peers = config.regions.filter { $0 != config.region }
        board = ComponentBoard(components: components, confirmations: settings.confirmations)
        probes = ProbeStore(database: database)
        incidents = IncidentRepository(database: database, peers: peers)
        let source = PageSource(incidents: incidents, probes: probes, board: board, regions: config.regions, clock: clock,
                                publicURL: settings.publicURL, logger: runtime.logger, freshFor: pageFreshness, readLimit: databaseWait)
        self.source = source
        // Probes must answer well within one interval; a hung instance is an outage, not a wait.
        let probeTimeout = Int64(max(1, min(5, settings.probeInterval.components.seconds)))
        prober = Prober(
            settings: settings, regions: config.regions,
            client: InternalClient(tls: runtime.tls, timeout: .init(connect: .seconds(2), read: .seconds(probeTimeout))),
            board: board, store: probes, maintenance: { await source.maintenanceComponents() }, databaseWait: databaseWait,
            clock: clock, logger: runtime.logger
        )
        replicator = Replicator(
            incidents: incidents, client: InternalClient(tls: runtime.tls, timeout: .init(connect: .seconds(5), read: .seconds(10))),
            peers: Dictionary(uniqueKeysWithValues: peers.compactMap { peer in settings.endpoints[peer]?[.status].map { (peer, $0) } }),
            clock: clock, logger: runtime.logger
        )
        editor = IncidentEditor(regions: config.regions, origin: config.region)
        self.runtime = runtime
        self.clock = clock
    }

    /// The long-lived parts that run with the application.
    public var services: [any Service] { [prober, replicator] }

    /// Every route of the status service.
    public func register(on router: Router<ServiceRequestContext>) {
        PublicRoutes(source: source).register(on: router)
        OperatorRoutes(incidents: incidents, editor: editor, source: source, clock: clock).register(on: router)
        ReplicaRoutes(incidents: incidents, regions: runtime.config.regions, region: runtime.config.region, source: source).register(on: router)
    }
}
