import Foundation
import Logging
import PostgresNIO
@testable import Control
import RampartCore
import RampartStorage

/// A fresh region database per suite on the PostgreSQL that `make test` starts, with roles under
/// a unique prefix so suites run in parallel without seeing each other.
struct TestDatabase {
    static let superuserKey = "RAMPART_TEST_SUPERUSER_URL"

    let superuser: DatabaseURL
    let region: Region
    let name: SQLIdentifier
    let rolePrefix: String
    let secretsDirectory: String

    /// The superuser URL `make test` exports; a clear failure when run outside it.
    static func superuserURL() throws -> DatabaseURL {
        guard let text = ProcessInfo.processInfo.environment[superuserKey] else {
            throw TestSetupError("\(superuserKey) is not set: run the suite with `make test`, which starts PostgreSQL")
        }
        return try DatabaseURL(parsing: text, key: superuserKey)
    }

    /// Provisions a new database for `region` with every service's schema and roles.
    static func make(region: Region = Region(rawValue: "eu")!, prefix: String? = nil) async throws -> TestDatabase {
        let superuser = try superuserURL()
        let token = prefix ?? "t" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(10)
        guard let name = SQLIdentifier("\(token)_\(region)") else { throw TestSetupError("bad database name") }
        let secrets = FileManager.default.temporaryDirectory.appendingPathComponent("rampart-test-\(token)").path
        let database = TestDatabase(superuser: superuser, region: region, name: name, rolePrefix: String(token), secretsDirectory: secrets)
        try await StartupGate.pass { try await database.databases.provision(region: region, database: name) }
        return database
    }

    var databases: RegionDatabases {
        RegionDatabases(superuser: superuser, secretsDirectory: secretsDirectory, rolePrefix: rolePrefix)
    }

    func url(_ service: ServiceName, owner: Bool) throws -> DatabaseURL {
        try databases.url(service: service, region: region, database: name, owner: owner)
    }

    func roles(_ service: ServiceName) throws -> RegionProvisioner.ServiceRoles {
        try RegionProvisioner.roles(prefix: rolePrefix, service: service, region: region)
    }

    /// The superuser URL pointed at this database.
    var superuserHere: DatabaseURL {
        var url = superuser
        url.database = name.name
        return url
    }

    static let logger: Logger = {
        var logger = Logger(label: "test")
        logger.logLevel = logLevel
        return logger
    }()

    /// Tests log only what is critical; `RAMPART_TEST_LOG_LEVEL` (e.g. `debug`) shows more of the
    /// services and their lifecycles when a run has to be understood.
    static let logLevel: Logger.Level = ProcessInfo.processInfo.environment["RAMPART_TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .critical

    /// Runs `body` with a client connected as `url`.
    func with<R: Sendable>(_ url: DatabaseURL, _ body: @escaping @Sendable (PostgresClient) async throws -> R) async throws -> R {
        try await Database.withTemporaryClient(url, logger: Self.logger, timeout: .seconds(60), body)
    }
}

struct TestSetupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension PostgresClient {
    /// Every value of the first column, as `T`.
    func values<T: PostgresDecodable>(_ query: PostgresQuery, as type: T.Type = T.self) async throws -> [T] {
        var result: [T] = []
        for try await value in try await self.query(query).decode(T.self) { result.append(value) }
        return result
    }
}

extension PostgresConnection {
    func values<T: PostgresDecodable>(_ query: PostgresQuery, as type: T.Type = T.self) async throws -> [T] {
        var result: [T] = []
        for try await value in try await self.query(query, logger: TestDatabase.logger).decode(T.self) { result.append(value) }
        return result
    }
}
