import Logging
import NIOSSL
import PostgresNIO
import RampartCore

/// A region database as one service's runtime role sees it: a pooled client plus the
/// transaction helpers every repository uses.
public struct Database: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    /// The per-transaction setting row-level security policies compare `tenant_id` with.
    public static let tenantSetting = "rampart.tenant_id"
    /// The per-database setting that names the region the database belongs to.
    public static let regionSetting = "rampart.region"

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// A client for `url`; run it (`client.run()`) in the service group.
    public init(url: DatabaseURL, logger: Logger, maximumConnections: Int = 20) {
        self.init(client: PostgresClient(configuration: Self.configuration(for: url, maximumConnections: maximumConnections), backgroundLogger: logger), logger: logger)
    }

    /// The postgres-nio configuration for `url`.
    public static func configuration(for url: DatabaseURL, maximumConnections: Int = 20) -> PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS
        switch url.tlsMode {
        case .disable:
            tls = .disable
        case .require:
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.certificateVerification = .none
            tls = .require(configuration)
        case .verifyFull:
            tls = .require(TLSConfiguration.makeClientConfiguration())
        }
        var configuration = PostgresClient.Configuration(
            host: url.host, port: url.port, username: url.username, password: url.password, database: url.database, tls: tls
        )
        configuration.options.maximumConnections = maximumConnections
        configuration.options.connectTimeout = .seconds(5)
        return configuration
    }

    /// Runs `body` in a transaction where row-level security sees exactly `tenant`.
    ///
    /// The setting is transaction-local (`set_config(…, true)`), so it can never leak to the
    /// next user of the pooled connection.
    public func withTenant<Result>(
        _ tenant: TenantID,
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresConnection) async throws -> sending Result
    ) async throws -> sending Result {
        try await surfacingClosureErrors(isolation: isolation) {
            try await client.withTransaction(logger: logger, isolation: isolation) { connection in
                try await connection.query("SELECT set_config('rampart.tenant_id', \(tenant.description), true)", logger: logger)
                return try await body(connection)
            }
        }
    }

    /// Runs `body` in a transaction with no tenant set: tenant tables show no rows in it.
    public func withTransaction<Result>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresConnection) async throws -> sending Result
    ) async throws -> sending Result {
        try await surfacingClosureErrors(isolation: isolation) {
            try await client.withTransaction(logger: logger, isolation: isolation, body)
        }
    }

    /// Whether the database answers at all.
    public func ping() async -> Bool {
        do {
            let rows = try await client.query("SELECT 1", logger: logger)
            for try await _ in rows.decode(Int.self) {}
            return true
        } catch {
            return false
        }
    }

    /// The region recorded on the database by provisioning, so an instance configured for one
    /// region refuses to start against another region's database.
    public func recordedRegion() async throws -> String? {
        let rows = try await client.query("SELECT current_setting('rampart.region', true)", logger: logger)
        for try await value in rows.decode(String?.self) { return value }
        return nil
    }
}

/// Runs `body`, surfacing the error a transaction's closure threw instead of postgres-nio's wrapper,
/// so domain errors (validation, conflicts) reach callers unchanged.
func surfacingClosureErrors<Result>(
    isolation: isolated (any Actor)? = #isolation,
    _ body: () async throws -> sending Result
) async throws -> sending Result {
    do {
        return try await body()
    } catch let error as PostgresTransactionError {
        if let inner = error.closureError { throw inner }
        throw error
    }
}
