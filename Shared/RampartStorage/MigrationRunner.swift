import Crypto
import Logging
import PostgresNIO
import RampartCore

/// Applies a service's migrations to its schema: in order, each recorded with a checksum in
/// `<schema>.schema_migrations`, under an advisory lock so concurrent starts apply them once.
public struct MigrationRunner: Sendable {
    public let schema: SQLIdentifier
    public let runtimeRole: SQLIdentifier
    /// The outbox relay's role, named after the runtime role; `nil` when the runtime role is not
    /// named as provisioning names it (an outbox migration then fails, naming the reason).
    public let relayRole: SQLIdentifier?
    public let migrations: [Migration]

    public init(schema: SQLIdentifier, runtimeRole: SQLIdentifier, migrations: [Migration]) throws {
        let versions = migrations.map(\.version)
        guard versions == versions.sorted(), Set(versions).count == versions.count, versions.allSatisfy({ $0 > 0 }) else {
            throw MigrationError.badOrder
        }
        self.schema = schema
        self.runtimeRole = runtimeRole
        self.relayRole = RegionProvisioner.relayRole(forRuntime: runtimeRole)
        self.migrations = migrations
    }

    private var context: MigrationContext { MigrationContext(schema: schema, runtimeRole: runtimeRole, relayRole: relayRole) }

    /// The checksum recorded for a migration: SHA-256 of its rendered SQL.
    func checksum(_ migration: Migration) -> String {
        Hex.encode(SHA256.hash(data: Array(migration.sql(context).utf8)))
    }

    /// Applies every pending migration in one transaction; returns the versions applied now.
    /// Must run as the schema's migration (owner) role.
    @discardableResult
    public func migrate(client: PostgresClient, logger: Logger) async throws -> [Int] {
        try await surfacingClosureErrors { try await client.withTransaction(logger: logger) { connection in
            let lockKey = "rampart.migrations.\(schema.name)"
            try await connection.query("SELECT pg_advisory_xact_lock(hashtext(\(lockKey)))", logger: logger)
            try await run(script: """
                CREATE TABLE IF NOT EXISTS \(schema.quoted).schema_migrations (
                    version integer PRIMARY KEY,
                    name text NOT NULL,
                    checksum text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                );
                REVOKE ALL ON \(schema.quoted).schema_migrations FROM PUBLIC;
                REVOKE ALL ON \(schema.quoted).schema_migrations FROM \(runtimeRole.quoted);
                GRANT SELECT ON \(schema.quoted).schema_migrations TO \(runtimeRole.quoted);
                """, on: connection, logger: logger)
            let applied = try await self.applied(connection: connection, logger: logger)
            try verify(applied: applied)
            var appliedNow: [Int] = []
            for migration in migrations where applied[migration.version] == nil {
                try await run(script: migration.sql(context), on: connection, logger: logger)
                try await connection.query("""
                    INSERT INTO \(unescaped: schema.quoted).schema_migrations (version, name, checksum)
                    VALUES (\(migration.version), \(migration.name), \(checksum(migration)))
                    """, logger: logger)
                logger.info("migration.applied", metadata: ["db.schema": "\(schema)", "migration.version": "\(migration.version)", "migration.name": "\(migration.name)"])
                appliedNow.append(migration.version)
            }
            return appliedNow
        } }
    }

    /// The versions not yet applied (readiness); any role that may read the table can ask.
    public func pending(client: PostgresClient, logger: Logger) async throws -> [Int] {
        let applied = try await client.withConnection { connection in
            try await self.applied(connection: connection, logger: logger)
        }
        try verify(applied: applied)
        return migrations.map(\.version).filter { applied[$0] == nil }
    }

    /// Runs each statement of `script` in order on `connection`.
    private func run(script: String, on connection: PostgresConnection, logger: Logger) async throws {
        for statement in SQLScript.statements(script) {
            try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
        }
    }

    private func applied(connection: PostgresConnection, logger: Logger) async throws -> [Int: String] {
        let rows = try await connection.query(
            "SELECT version, checksum FROM \(unescaped: schema.quoted).schema_migrations", logger: logger
        )
        var result: [Int: String] = [:]
        for try await (version, checksum) in rows.decode((Int, String).self) {
            result[version] = checksum
        }
        return result
    }

    /// An applied migration must still be in the code, unchanged.
    private func verify(applied: [Int: String]) throws {
        let known = Dictionary(uniqueKeysWithValues: migrations.map { ($0.version, $0) })
        for (version, recorded) in applied.sorted(by: { $0.key < $1.key }) {
            guard let migration = known[version] else { throw MigrationError.unknownApplied(version: version) }
            guard checksum(migration) == recorded else { throw MigrationError.edited(version: version) }
        }
    }
}

/// Why migrations cannot run; each stops the service at start.
public enum MigrationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Versions must be positive, unique and listed in ascending order.
    case badOrder
    /// The database has a migration this code does not know (a newer build ran here).
    case unknownApplied(version: Int)
    /// An applied migration's SQL changed since it was applied.
    case edited(version: Int)

    public var description: String {
        switch self {
        case .badOrder: "migrations are not in ascending version order"
        case .unknownApplied(let version): "database has migration \(version) which this build does not know"
        case .edited(let version): "migration \(version) was edited after it was applied"
        }
    }
}
