import ArgumentParser
import Foundation
import Logging
import RampartCore
import RampartStorage

/// `rampartctl db provision`: a region's database, schemas and roles.
struct DatabaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db",
        abstract: "Provision region databases.",
        subcommands: [Provision.self]
    )

    struct Provision: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a region's database with one schema, migration role and runtime role per service (idempotent).")

        @Option(help: "File holding a superuser postgres:// URL.") var superuserUrlFile: String
        @Option(help: "The region.") var region: String
        @Option(help: "Database name; rampart_<region> by default.") var database: String?
        @Option(help: "Directory keeping each role's generated password (mode 0600).") var secretsDir: String
        @Option(help: "Role name prefix.") var rolePrefix: String = "rampart"

        func run() async throws {
            guard let region = Region(rawValue: region) else { throw ValidationError("--region must be a region name") }
            guard let urlText = SecretFile.read(superuserUrlFile) else { throw ControlError("cannot read \(superuserUrlFile)") }
            let superuser = try DatabaseURL(parsing: urlText, key: "--superuser-url-file")
            guard let name = SQLIdentifier(database ?? "rampart_\(region)") else { throw ValidationError("--database must be a plain identifier") }
            try await RegionDatabases(superuser: superuser, secretsDirectory: secretsDir, rolePrefix: rolePrefix)
                .provision(region: region, database: name)
            print("db: region \(region) provisioned in database \(name)")
        }
    }
}

/// Provisions region databases with passwords generated once and kept in a secrets directory.
public struct RegionDatabases {
    public let superuser: DatabaseURL
    public let secretsDirectory: String
    public let rolePrefix: String

    public init(superuser: DatabaseURL, secretsDirectory: String, rolePrefix: String = "rampart") {
        self.superuser = superuser
        self.secretsDirectory = secretsDirectory
        self.rolePrefix = rolePrefix
    }

    /// The password of `role`, generated on first use.
    public func password(of role: SQLIdentifier) throws -> String {
        try SecretFile.password(at: URL(fileURLWithPath: secretsDirectory).appendingPathComponent("\(role.name).password").path)
    }

    public func provision(region: Region, database: SQLIdentifier) async throws {
        var logger = Logger(label: "rampartctl")
        logger.logLevel = .warning
        try await RegionProvisioner(superuser: superuser, logger: logger).provision(
            region: region, database: database, rolePrefix: rolePrefix, services: ServiceName.allCases,
            password: { try password(of: $0) }
        )
    }

    /// The URL a service instance connects with, as its runtime or migration role.
    public func url(service: ServiceName, region: Region, database: SQLIdentifier, owner: Bool) throws -> DatabaseURL {
        let roles = try RegionProvisioner.roles(prefix: rolePrefix, service: service, region: region)
        return try url(role: owner ? roles.owner : roles.runtime, database: database)
    }

    /// The URL the service's outbox relay connects with (services with an outbox only).
    public func relayURL(service: ServiceName, region: Region, database: SQLIdentifier) throws -> DatabaseURL {
        try url(role: try RegionProvisioner.roles(prefix: rolePrefix, service: service, region: region).relay, database: database)
    }

    private func url(role: SQLIdentifier, database: SQLIdentifier) throws -> DatabaseURL {
        DatabaseURL(host: superuser.host, port: superuser.port, username: role.name, password: try password(of: role), database: database.name, tlsMode: superuser.tlsMode)
    }
}
