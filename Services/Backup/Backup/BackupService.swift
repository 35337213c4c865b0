import Foundation
import Hummingbird
import RampartCore
import RampartSecurity
import RampartStorage
import RampartTransport
import ServiceLifecycle

/// `rampart-backup`: the region cluster's backups (pgBackRest, two encrypted repositories) on
/// their schedule, with every outcome recorded and the repositories' freshness exposed to
/// operators, metrics and the status page; tenant purges, tenant exports and customers' data-subject requests.
/// Restores are an operator's act (`rampartctl backup`).
public enum BackupService {
    /// Prepares the runtime (configuration files, database, migrations) and builds the application.
    public static func buildApplication(_ config: ServiceConfig) async throws -> some ApplicationProtocol {
        let runtime = try await ServiceRuntime.prepare(config: config, migrations: BackupMigrations.all)
        let scheduler = try makeScheduler(runtime: runtime)
        let exporter = try makeExporter(runtime: runtime)
        let purger = try makePurger(runtime: runtime, exporter: exporter)
        let dataRequests = try makeDataRequests(runtime: runtime)
        let services: [any Service] = [scheduler as (any Service)?, purger, exporter].compactMap { $0 }
        return try ServiceApplication.build(runtime: runtime, services: services) { router in
            try register(on: router, runtime: runtime, scheduler: scheduler, purger: purger, dataRequests: dataRequests, exporter: exporter)
        }
    }

    /// The purger of the region's tenants; `nil` when the configuration names no endpoints,
    /// certificate key and ledger (an instance that only backs up). It deletes `exporter`'s
    /// archives of a purged tenant too, and shares its keyring: one per process, so a destroyed
    /// key is forgotten by both at once.
    public static func makePurger(runtime: ServiceRuntime, exporter: TenantExporter? = nil,
                                  clock: @escaping @Sendable () -> Date = { Date() }) throws -> TenantPurger? {
        guard let database = runtime.database else { throw ConfigError(key: "RAMPART_DATABASE_URL", reason: "is required") }
        guard let erasure = try ErasureSettings(runtime: runtime) else { return nil }
        return TenantPurger(
            jobs: PurgeJobRepository(database: database), region: runtime.config.region, endpoints: erasure.endpoints, tls: runtime.tls,
            keyring: try exporter?.keyring ?? TenantKeyring.load(config: runtime.config), signingKey: try signingKey(runtime), ledger: erasure.ledger,
            logger: runtime.logger, checkInterval: try checkInterval(runtime), exporter: exporter, clock: clock
        )
    }

    /// The builder of tenant exports; `nil` when the configuration names no endpoints or no
    /// `RAMPART_EXPORT_DIR`. The manifest is signed with the deletion certificates' key.
    public static func makeExporter(runtime: ServiceRuntime, clock: @escaping @Sendable () -> Date = { Date() }) throws -> TenantExporter? {
        guard let database = runtime.database else { throw ConfigError(key: "RAMPART_DATABASE_URL", reason: "is required") }
        let source = runtime.config.source
        guard let erasure = try ErasureSettings(runtime: runtime), source.optional("RAMPART_EXPORT_DIR") != nil else { return nil }
        let directory = try source.required("RAMPART_EXPORT_DIR", expected: "an absolute path for the sealed export archives") { raw in
            raw.hasPrefix("/") ? raw : nil
        }
        let days = try source.value("RAMPART_EXPORT_DAYS", default: 7.0, expected: "days an export can be downloaded (1-90)") { raw in
            Double(raw).flatMap { (1...90).contains($0) ? $0 : nil }
        }
        return TenantExporter(
            services: erasure.endpoints, region: runtime.config.region, tls: runtime.tls, exports: TenantExportRepository(database: database),
            keyring: try TenantKeyring.load(config: runtime.config), signingKey: try signingKey(runtime), directory: directory,
            lifetime: days * 86_400, logger: runtime.logger, checkInterval: try checkInterval(runtime), clock: clock
        )
    }

    /// The install's Ed25519 key for what backup attests: deletion certificates and export manifests.
    static func signingKey(_ runtime: ServiceRuntime) throws -> PrincipalSigningKey {
        guard let keyData = FileManager.default.contents(atPath: try runtime.config.source.readableFile("RAMPART_BACKUP_SIGNING_KEY")),
              let signingKey = try? PrincipalSigningKey(fileContents: keyData)
        else { throw ConfigError(key: "RAMPART_BACKUP_SIGNING_KEY", reason: "is not a signing key file") }
        return signingKey
    }

    static func checkInterval(_ runtime: ServiceRuntime) throws -> Duration {
        try runtime.config.source.value("RAMPART_BACKUP_CHECK_SECONDS", default: Duration.seconds(60), expected: "seconds between schedule checks (1-3600)") { raw in
            Int(raw).flatMap { (1...3_600).contains($0) ? Duration.seconds($0) : nil }
        }
    }

    /// The region's data-subject requests; `nil` when the configuration names no endpoints and ledger.
    public static func makeDataRequests(runtime: ServiceRuntime) throws -> DataSubjectRequests? {
        try ErasureSettings(runtime: runtime).map {
            DataSubjectRequests(region: runtime.config.region, endpoints: $0.endpoints, tls: runtime.tls, ledger: $0.ledger, logger: runtime.logger)
        }
    }

    /// The scheduler of the cluster the configuration names; `nil` when it names none.
    public static func makeScheduler(runtime: ServiceRuntime) throws -> BackupScheduler? {
        guard let database = runtime.database else { throw ConfigError(key: "RAMPART_DATABASE_URL", reason: "is required") }
        return try BackupSettings(source: runtime.config.source).map {
            BackupScheduler(pgBackRest: $0.pgBackRest, schedule: $0.schedule, runs: BackupRunRepository(database: database),
                            metrics: runtime.metrics, logger: runtime.logger, checkInterval: $0.checkInterval)
        }
    }

    /// Backup's routes on `router`; tests mount the same routes.
    public static func register(on router: Router<ServiceRequestContext>, runtime: ServiceRuntime, scheduler: BackupScheduler?,
                                purger: TenantPurger? = nil, dataRequests: DataSubjectRequests? = nil, exporter: TenantExporter? = nil) throws {
        guard let database = runtime.database else { throw ConfigError(key: "RAMPART_DATABASE_URL", reason: "is required") }
        BackupRoutes(scheduler: scheduler, runs: BackupRunRepository(database: database), stanza: scheduler?.pgBackRest.stanza).register(on: router)
        PurgeRoutes(purger: purger, jobs: PurgeJobRepository(database: database)).register(on: router)
        DataRequestRoutes(requests: dataRequests).register(on: router)
        ExportRoutes(exporter: exporter).register(on: router)
    }
}

/// What purges and data-subject requests both need: the region's service URLs and the erasure
/// ledger; `nil` when no endpoints are configured (an instance that only backs up).
struct ErasureSettings {
    let endpoints: [ServiceName: String]
    let ledger: ErasureLedger

    init?(runtime: ServiceRuntime) throws {
        let source = runtime.config.source
        guard source.optional("RAMPART_BACKUP_ENDPOINTS") != nil else { return nil }
        let region = runtime.config.region
        endpoints = try ServiceEndpoints.load(atPath: try source.readableFile("RAMPART_BACKUP_ENDPOINTS"), regions: [region],
                                              key: "RAMPART_BACKUP_ENDPOINTS")[region] ?? [:]
        ledger = ErasureLedger(path: try source.required("RAMPART_ERASURE_LEDGER", expected: "an absolute path outside the database") { raw in
            raw.hasPrefix("/") ? raw : nil
        })
    }
}

/// The cluster this instance backs up and its schedule; `nil` when no pgBackRest configuration
/// is given (an instance that only answers, while another one owns the schedule).
struct BackupSettings {
    let pgBackRest: PgBackRest
    let schedule: BackupSchedule
    let checkInterval: Duration

    init?(source: ConfigSource) throws {
        guard source.optional("RAMPART_PGBACKREST_CONFIG") != nil else { return nil }
        let configPath = try source.readableFile("RAMPART_PGBACKREST_CONFIG")
        let stanza = try source.required("RAMPART_PGBACKREST_STANZA", expected: "a stanza name (letters, digits, - and _)") { raw in
            raw.range(of: "^[A-Za-z0-9_-]{1,64}$", options: .regularExpression) != nil ? raw : nil
        }
        pgBackRest = PgBackRest(configPath: configPath, stanza: stanza, osUser: source.optional("RAMPART_PGBACKREST_USER"))
        var schedule = BackupSchedule.standard
        schedule.fullInterval = try source.value("RAMPART_BACKUP_FULL_HOURS", default: schedule.fullInterval, expected: "hours between full backups (1-720)") { raw in
            Double(raw).flatMap { (1...720).contains($0) ? $0 * 3_600 : nil }
        }
        schedule.differentialInterval = try source.value("RAMPART_BACKUP_DIFF_HOURS", default: schedule.differentialInterval, expected: "hours between differential backups (1-168)") { raw in
            Double(raw).flatMap { (1...168).contains($0) ? $0 * 3_600 : nil }
        }
        self.schedule = schedule
        checkInterval = try source.value("RAMPART_BACKUP_CHECK_SECONDS", default: .seconds(60), expected: "seconds between schedule checks (1-3600)") { raw in
            Int(raw).flatMap { (1...3_600).contains($0) ? Duration.seconds($0) : nil }
        }
    }
}
