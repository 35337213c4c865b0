import Logging
import PostgresNIO
import RampartCore

/// Creates a region's database, and in it one schema per service with a migration role that
/// owns it and a runtime role that owns nothing. Idempotent; runs with a superuser connection
/// at install time only (`rampartctl db provision`), never from a service.
public struct RegionProvisioner: Sendable {
    /// A superuser URL; its database is only used to create the region database.
    public let superuser: DatabaseURL
    public let logger: Logger

    public init(superuser: DatabaseURL, logger: Logger) {
        self.superuser = superuser
        self.logger = logger
    }

    /// The roles of one service in one region.
    public struct ServiceRoles: Sendable, Equatable {
        public let owner: SQLIdentifier
        public let runtime: SQLIdentifier
        /// The outbox relay's role: it reads and deletes the service's `outbox_events` of every
        /// tenant and nothing else (created only for services with an outbox).
        public let relay: SQLIdentifier

        /// The roles a service logs in with: owner and runtime, plus the relay's if it has an outbox.
        func loginRoles(of service: ServiceName) -> [SQLIdentifier] {
            service.hasOutbox ? [owner, runtime, relay] : [owner, runtime]
        }
    }

    /// Role names: `<prefix>_<service>_<region>_owner`, `…_app` and `…_relay`. Roles are
    /// cluster-wide, so the region is part of the name and each role may connect to its own
    /// region's database only.
    public static func roles(prefix: String, service: ServiceName, region: Region) throws -> ServiceRoles {
        guard let owner = SQLIdentifier("\(prefix)_\(service)_\(region)_owner"),
              let runtime = SQLIdentifier("\(prefix)_\(service)_\(region)_app"),
              let relay = relayRole(forRuntime: runtime)
        else { throw ProvisioningError.invalidName }
        return ServiceRoles(owner: owner, runtime: runtime, relay: relay)
    }

    /// The relay role that belongs with a runtime role (`…_app` → `…_relay`), so migrations can
    /// grant to it knowing only the runtime role they run for.
    public static func relayRole(forRuntime runtime: SQLIdentifier) -> SQLIdentifier? {
        guard runtime.name.hasSuffix("_app") else { return nil }
        return SQLIdentifier(runtime.name.dropLast(4) + "_relay")
    }

    /// Provisions `database` for `region` with roles for `services`; `password` supplies each
    /// role's password (generated per install by the caller, never a default).
    public func provision(
        region: Region, database: SQLIdentifier, rolePrefix: String, services: [ServiceName],
        password: (SQLIdentifier) throws -> String
    ) async throws {
        let logger = self.logger
        let passwords = try Dictionary(uniqueKeysWithValues: services.filter(\.ownsSchema).flatMap { service in
            let roles = try Self.roles(prefix: rolePrefix, service: service, region: region)
            return roles.loginRoles(of: service)
        }.map { ($0, try password($0)) })
        try await withClient(database: superuser.database) { client in
            let exists = try await client.query("SELECT 1 FROM pg_database WHERE datname = \(database.name)", logger: logger)
            var found = false
            for try await _ in exists.decode(Int.self) { found = true }
            if !found {
                try await client.query("CREATE DATABASE \(unescaped: database.quoted) ENCODING 'UTF8' TEMPLATE template0", logger: logger)
            }
            try await client.query("REVOKE ALL ON DATABASE \(unescaped: database.quoted) FROM PUBLIC", logger: logger)
            try await client.query("ALTER DATABASE \(unescaped: database.quoted) SET rampart.region = \(unescaped: SQLIdentifier.literal(region.rawValue))", logger: logger)
            for service in services where service.ownsSchema {
                let roles = try Self.roles(prefix: rolePrefix, service: service, region: region)
                for role in roles.loginRoles(of: service) {
                    guard let password = passwords[role], password.utf8.count >= 16 else { throw ProvisioningError.weakPassword }
                    let secret = SQLIdentifier.literal(password)
                    let attributes = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT PASSWORD \(secret)"
                    let known = try await client.query("SELECT 1 FROM pg_roles WHERE rolname = \(role.name)", logger: logger)
                    var roleExists = false
                    for try await _ in known.decode(Int.self) { roleExists = true }
                    let verb = roleExists ? "ALTER ROLE" : "CREATE ROLE"
                    try await client.query("\(unescaped: verb) \(unescaped: role.quoted) WITH \(unescaped: attributes)", logger: logger)
                    try await client.query("GRANT CONNECT, TEMPORARY ON DATABASE \(unescaped: database.quoted) TO \(unescaped: role.quoted)", logger: logger)
                }
            }
        }
        try await withClient(database: database.name) { client in
            try await client.query("REVOKE ALL ON SCHEMA public FROM PUBLIC", logger: logger)
            for service in services where service.ownsSchema {
                let roles = try Self.roles(prefix: rolePrefix, service: service, region: region)
                guard let schema = SQLIdentifier(service.rawValue) else { throw ProvisioningError.invalidName }
                let statements = [
                    "CREATE SCHEMA IF NOT EXISTS \(schema.quoted) AUTHORIZATION \(roles.owner.quoted)",
                    "ALTER SCHEMA \(schema.quoted) OWNER TO \(roles.owner.quoted)",
                    "REVOKE ALL ON SCHEMA \(schema.quoted) FROM PUBLIC",
                    "GRANT USAGE ON SCHEMA \(schema.quoted) TO \(roles.runtime.quoted)",
                    "ALTER DEFAULT PRIVILEGES FOR ROLE \(roles.owner.quoted) IN SCHEMA \(schema.quoted) GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO \(roles.runtime.quoted)",
                    "ALTER DEFAULT PRIVILEGES FOR ROLE \(roles.owner.quoted) IN SCHEMA \(schema.quoted) GRANT USAGE, SELECT ON SEQUENCES TO \(roles.runtime.quoted)",
                    "ALTER ROLE \(roles.owner.quoted) IN DATABASE \(database.quoted) SET search_path = \(schema.quoted)",
                    "ALTER ROLE \(roles.runtime.quoted) IN DATABASE \(database.quoted) SET search_path = \(schema.quoted)",
                ] + (service.hasOutbox ? [
                    // Table grants and row-level security policies come with the outbox's migration.
                    "GRANT USAGE ON SCHEMA \(schema.quoted) TO \(roles.relay.quoted)",
                    "ALTER ROLE \(roles.relay.quoted) IN DATABASE \(database.quoted) SET search_path = \(schema.quoted)",
                ] : [])
                for statement in statements {
                    try await client.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
            }
        }
        logger.info("region.provisioned", metadata: ["region": "\(region)", "db.name": "\(database)"])
    }

    /// Runs `body` with a short-lived superuser client on `database`.
    private func withClient(database: String, _ body: @escaping @Sendable (PostgresClient) async throws -> Void) async throws {
        var url = superuser
        url.database = database
        try await Database.withTemporaryClient(url, logger: logger, timeout: .seconds(120), body)
    }
}

/// Why provisioning refused to run.
public enum ProvisioningError: Error, Sendable {
    case invalidName
    /// Role passwords are generated per install and at least 16 characters long.
    case weakPassword
}
