import Foundation
import Hummingbird
import Logging
import RampartCore
import RampartSecurity
import RampartStorage

/// What a service's routes and repositories are built from; made once at start, passed in,
/// never reached for.
public struct ServiceRuntime: Sendable {
    public let config: ServiceConfig
    public let logger: Logger
    public let tls: InternalTLS
    public let allowList: AllowList
    public let principalVerifier: PrincipalVerifier
    public let metrics: RequestMetrics
    /// The region database as the runtime role; `nil` for the gateway.
    public let database: Database?
    /// The service schema's migrations, for readiness; `nil` without a database.
    public let migrationRunner: MigrationRunner?

    /// Loads every file the configuration names and checks the database: the region recorded on
    /// it must be this instance's, and migrations are applied (when a migration URL is given)
    /// or must already be.
    public static func prepare(config: ServiceConfig, migrations: [Migration]) async throws -> ServiceRuntime {
        let logger = {
            var logger = Logger(label: config.service.executableName)
            logger.logLevel = config.logLevel
            logger[metadataKey: "service"] = "\(config.service)"
            logger[metadataKey: "region"] = "\(config.region)"
            return logger
        }()

        let tls = try InternalTLS(files: config.tls)
        guard tls.identity == .service(config.service, config.region) else {
            throw ConfigError(key: "RAMPART_TLS_CERT", reason: "certificate names \(tls.identity), not \(CallerIdentity.service(config.service, config.region))")
        }
        let allowList = try AllowList(contentsOf: config.allowListPath)
        let keys: PrincipalKeySet
        do {
            keys = try PrincipalKeySet(jwks: try Data(contentsOf: URL(fileURLWithPath: config.principalKeysPath)))
        } catch {
            throw ConfigError(key: "RAMPART_PRINCIPAL_KEYS", reason: "is not a JWKS of Ed25519 keys")
        }

        var database: Database?
        var runner: MigrationRunner?
        if let url = config.database {
            let schemaRunner = try migrationRunner(config: config, url: url, migrations: migrations)
            runner = schemaRunner
            try await Database.probe(url, logger: logger)
            if let migrationURL = config.migrationDatabase {
                try await Database.probe(migrationURL, logger: logger)
                // Reachability is settled by the probe; migrating may take a while on a busy server.
                try await Database.withTemporaryClient(migrationURL, logger: logger, timeout: .seconds(180)) { client in
                    try await schemaRunner.migrate(client: client, logger: logger)
                }
            }
            let region = config.region
            try await Database.withTemporaryClient(url, logger: logger, timeout: .seconds(60)) { client in
                let probe = Database(client: client, logger: logger)
                guard try await probe.recordedRegion() == region.rawValue else {
                    throw ConfigError(key: "RAMPART_DATABASE_URL", reason: "database does not belong to region \(region)")
                }
                let pending = try await schemaRunner.pending(client: client, logger: logger)
                guard pending.isEmpty else {
                    throw StartupError("migrations \(pending.map(String.init).joined(separator: ", ")) are not applied; set RAMPART_MIGRATION_DATABASE_URL or run them first")
                }
            }
            database = Database(url: url, logger: logger)
        }
        return ServiceRuntime(
            config: config, logger: logger, tls: tls, allowList: allowList,
            principalVerifier: PrincipalVerifier(keys: keys, audience: config.service, region: config.region),
            metrics: RequestMetrics(), database: database, migrationRunner: runner
        )
    }

    /// The migration runner of this service's schema, with the runtime role taken from its URL.
    static func migrationRunner(config: ServiceConfig, url: DatabaseURL, migrations: [Migration]) throws -> MigrationRunner {
        guard let schema = SQLIdentifier(config.service.rawValue), let runtime = SQLIdentifier(url.username) else {
            throw ConfigError(key: "RAMPART_DATABASE_URL", reason: "user name is not a plain PostgreSQL identifier")
        }
        return try MigrationRunner(schema: schema, runtimeRole: runtime, migrations: migrations)
    }
}

/// A start-up failure that is not a configuration key's fault; its text is the one line printed.
public struct StartupError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
