import Foundation
import Hummingbird
import RampartCore
import RampartSecurity
import RampartStorage
import RampartTransport
import RampartWeb

/// `rampart-audit`: the tamper-evident audit log (ingestion from every service's outbox,
/// per-tenant hash chains, hourly signed checkpoints), its query API for tenant admins, agent
/// activity and anomaly alerts.
public enum AuditService {
    /// Prepares the runtime (configuration files, database, migrations) and builds the application.
    public static func buildApplication(_ config: ServiceConfig) async throws -> some ApplicationProtocol {
        let keys = try AuditKeys(config: config)
        let geoIP = try GeoIPLocator.load(config: config)
        let runtime = try await ServiceRuntime.prepare(config: config, migrations: AuditMigrations.all)
        let parts = try Parts(runtime: runtime, keys: keys, geoIP: geoIP, staff: StaffDirectory.make(for: runtime))
        return try ServiceApplication.build(runtime: runtime, services: [parts.scheduler, parts.staff]) { router in
            parts.register(on: router)
        }
    }

    /// Audit's repositories, routes and scheduled work, built once; tests build the same.
    public struct Parts: Sendable {
        public let store: EventStore
        public let checkpointer: Checkpointer
        public let scanner: AlertScanner
        public let scheduler: AuditScheduler
        /// Names the log viewer's staff actors (and the admin signed in); it must run as a service
        /// when it asks identity. Without it, actors the event does not name show by id.
        public let staff: StaffDirectory
        /// The kit with audit's own page templates (the admin console's log viewer and alerts).
        let pages: WebTemplates

        /// `geoIP` turns on the impossible-travel rule.
        public init(runtime: ServiceRuntime, keys: AuditKeys, geoIP: GeoIPLocator?, staff: StaffDirectory = StaffDirectory(),
                    clock: @escaping @Sendable () -> Date = { .now }) throws {
            self.staff = staff
            guard let database = runtime.database else { throw ConfigError(key: "RAMPART_DATABASE_URL", reason: "is required") }
            let region = runtime.config.region
            let store = EventStore(database: database, region: region, keyring: keys.keyring, clock: clock)
            self.store = store
            let checkpointer = Checkpointer(database: database, region: region, keyring: keys.keyring, signingKey: keys.signingKey)
            self.checkpointer = checkpointer
            let retention = Retention(database: database, keyring: keys.keyring)
            let scanner = AlertScanner(store: store, geoIP: geoIP)
            self.scanner = scanner
            pages = try WebTemplates(serviceDirectory: Bundle.module.url(forResource: "Templates", withExtension: nil))
            if geoIP == nil { runtime.logger.notice("audit.impossible_travel.disabled", metadata: ["reason": "\(GeoIPLocator.configKey) not set"]) }
            scheduler = AuditScheduler(jobs: [
                .init(name: "checkpoints") { now in try await checkpointer.run(now: now) },
                .init(name: "alerts") { _ in try await scanner.run() },
                .init(name: "retention") { _ in try await retention.run() },
            ], logger: runtime.logger)
        }

        /// Audit's routes on `router`.
        public func register(on router: Router<ServiceRequestContext>) {
            IngestRoutes(store: store).register(on: router)
            OperatorAuditRoutes(store: store, checkpointer: checkpointer).register(on: router)
            DataSubjectRoutes(holder: ActorDataRepository(store: store), service: .audit).register(on: router)
            TenantExportRoutes(exporter: TenantAuditExport(store: store)).register(on: router)
            let settings = SettingsRepository(database: store.database)
            AuditQueryRoutes(store: store, alerts: AlertRepository(store: store), activity: ActivityReport(store: store), settings: settings).register(on: router)
            AuditPages(pages: pages, store: store, alerts: AlertRepository(store: store), staff: staff, settings: settings).register(on: router)
        }
    }
}

/// Audit's secrets, read once at start: the checkpoint signing key and the tenant keyring.
public struct AuditKeys: Sendable {
    /// Signs checkpoints; the same Ed25519 key-file format as principal keys, generated per install.
    public let signingKey: PrincipalSigningKey
    /// Tenant data keys: sealing personal data, and telling which tenants exist here.
    public let keyring: TenantKeyring

    public init(signingKey: PrincipalSigningKey, keyring: TenantKeyring) {
        self.signingKey = signingKey
        self.keyring = keyring
    }

    public init(config: ServiceConfig) throws {
        guard let path = config.auditSigningKeyPath else { throw ConfigError(key: "RAMPART_AUDIT_SIGNING_KEY", reason: "is required for audit") }
        guard let data = FileManager.default.contents(atPath: path), let key = try? PrincipalSigningKey(fileContents: data) else {
            throw ConfigError(key: "RAMPART_AUDIT_SIGNING_KEY", reason: "is not an Ed25519 signing key file")
        }
        self.init(signingKey: key, keyring: try TenantKeyring.load(config: config))
    }
}
