import Foundation
import Logging
import NIOHTTP1
import PostgresNIO
@testable import Audit
@testable import Control
import RampartCore
import RampartSecurity
import RampartStorage
import RampartTransport
import ServiceLifecycle

/// A running audit service on a fresh region database, with the helpers its tests share: a
/// tenant known to the key store, events, batches sent as a given caller, operator verification.
struct AuditFixture: Sendable {
    static let eu = Region(rawValue: "eu")!

    let database: TestDatabase
    let pki: TestPKI
    let audit: RunningService
    /// Signs the principals the gateway would forward.
    let principalKey: PrincipalSigningKey

    /// Runs audit (its real routes) for the length of `body`, with `extraConfig` over the usual
    /// configuration. Its scheduler is not started: tests run checkpoints, alert rules and
    /// retention themselves, at the times they choose. With `identityURL`, the pages ask that
    /// identity's staff directory for names, as `RAMPART_IDENTITY_URL` makes the service do.
    static func with<R: Sendable>(
        database: TestDatabase? = nil, pki: TestPKI? = nil, port: Int? = nil, extraConfig: [String: String] = [:], identityURL: String? = nil,
        _ body: @escaping @Sendable (AuditFixture) async throws -> R
    ) async throws -> R {
        let database = if let database { database } else { try await TestDatabase.make() }
        let pki = try pki ?? TestPKI()
        let principalKey = PrincipalSigningKey.generate()
        let staff = try identityURL.map {
            StaffDirectory(identityURL: $0, tls: try InternalTLS(files: try pki.files(for: .service(.audit, eu))), logger: TestDatabase.logger)
        } ?? StaffDirectory()
        return try await RunningService.with(
            .audit, region: eu, pki: pki, signingKey: principalKey, database: database, migrations: AuditMigrations.all, extraConfig: extraConfig,
            port: port,
            services: { _ in [staff] },
            routes: { router, runtime in
                try AuditService.Parts(runtime: runtime, keys: AuditKeys(config: runtime.config), geoIP: GeoIPLocator.load(config: runtime.config),
                                       staff: staff)
                    .register(on: router)
            }
        ) { audit in try await body(AuditFixture(database: database, pki: pki, audit: audit, principalKey: principalKey)) }
    }

    /// The keyring of this installation (the KEK and key store audit and identity share).
    var keyring: TenantKeyring {
        get throws {
            TenantKeyring(keys: try KeyEncryptionKeys(fileContents: try Data(contentsOf: URL(fileURLWithPath: pki.kekPath))),
                          store: try FileKeyStore(directory: URL(fileURLWithPath: pki.keyStorePath)))
        }
    }

    /// A new tenant with a live key, as identity creates one.
    func tenant() async throws -> TenantID {
        let tenant = TenantID.random()
        try await keyring.provision(tenant)
        return tenant
    }

    /// An event of `tenant` with personal data in every place it can be.
    static func event(_ tenant: TenantID, action: String = "user.created", actorType: String = "admin", actorID: String = "u-1",
                      ip: String? = "192.0.2.10", resourceID: String = "u-2", outcome: String = "success", occurredAt: Date = .now) -> AuditEvent {
        AuditEvent(
            tenantID: tenant, region: eu,
            actor: .init(type: actorType, id: actorID, displayName: "Ada Admin", ip: ip, userAgent: "Mozilla/5.0 test", sessionID: "s-1", authenticationMethod: "password"),
            action: action, resource: .init(type: "user", id: resourceID, label: "grace@acme.test"),
            changes: ["email": [nil, "grace@acme.test"]], outcome: outcome, requestID: "req-12345678", source: "api", occurredAt: occurredAt
        )
    }

    /// `{"events": [...]}` as the outbox relay sends it.
    static func batch(_ events: [AuditEvent]) throws -> Data {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = .sortedKeys
        let items = try events.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
        return Data(("{\"events\":[" + items.joined(separator: ",") + "]}").utf8)
    }

    /// Sends `body` to `path` on audit as `caller`; returns the status and parsed JSON.
    func send(_ method: HTTPMethod = .POST, _ path: String = "/internal/v1/events", as caller: CallerIdentity = .service(.identity, eu),
              principal: String? = nil, body: Data?) async throws -> (Int, [String: Any]) {
        let reply = try await raw(method, path, as: caller, principal: principal, body: body)
        return (reply.status, (try? JSONSerialization.jsonObject(with: reply.body) as? [String: Any]) ?? [:])
    }

    /// Sends a request and answers the whole reply.
    func raw(_ method: HTTPMethod, _ path: String, as caller: CallerIdentity = .service(.gateway, eu), principal: String? = nil, body: Data? = nil,
             contentType: String = "application/json") async throws -> InternalClient.Reply {
        let client = InternalClient(tls: try InternalTLS(files: try pki.files(for: caller)))
        do {
            let reply = try await client.send(method, url: audit.baseURL + path, principal: principal, body: body, contentType: contentType)
            try await client.shutdown()
            return reply
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    /// A principal of `tenant` addressed to audit, as the gateway forwards it; `csrfToken` is the
    /// browser session's anti-CSRF token identity signs in (none: a session without one).
    func principal(_ tenant: TenantID, kind: Principal.Kind = .admin, subject: String = "admin-1",
                   scopes: [String] = ["audit:read", "security:write", "users:write"], csrfToken: String? = nil,
                   authenticationMethod: Principal.AuthenticationMethod = .password, sessionID: String? = "s-1") throws -> String {
        try PrincipalToken.sign(Principal(tenantID: tenant, tenantSlug: TenantSlug(rawValue: "acme")!, region: Self.eu, subject: subject, kind: kind,
                                          roles: [kind.rawValue], scopes: scopes, authenticationMethod: authenticationMethod, sessionID: sessionID,
                                          csrfToken: csrfToken),
                                audience: .audit, key: principalKey)
    }

    /// A GET of the public API as `tenant`'s admin; status and JSON.
    func get(_ path: String, principal: String) async throws -> (Int, [String: Any]) {
        try await send(.GET, path, as: .service(.gateway, Self.eu), principal: principal, body: nil)
    }

    /// Runs `body` with audit's own repositories on its runtime database, with `clock` as their time.
    func withParts<R: Sendable>(clock: @escaping @Sendable () -> Date = { .now }, _ body: @escaping @Sendable (AuditService.Parts) async throws -> R) async throws -> R {
        let runtime = try await StartupGate.pass { try await ServiceRuntime.prepare(config: audit.config, migrations: AuditMigrations.all) }
        let parts = try AuditService.Parts(runtime: runtime, keys: try AuditKeys(config: audit.config), geoIP: try GeoIPLocator.load(config: audit.config),
                                           clock: clock)
        guard let database = runtime.database else { throw TestSetupError("audit has no database") }
        return try await withThrowingTaskGroup(of: R?.self) { group in
            group.addTask {
                await database.client.run()
                return nil
            }
            defer { group.cancelAll() }
            return try await body(parts)
        }
    }

    /// `rampartctl audit verify` against this audit, with the installation's checkpoint public key.
    func verify(_ tenant: TenantID, since: Date? = nil, now: Date = .now) async throws -> AuditVerification.Report {
        let endpoints = pki.directory.appendingPathComponent("endpoints-\(UUID().uuidString.prefix(6)).json")
        try Data(#"{"regions":{"eu":{"audit":"\#(audit.baseURL)"}}}"#.utf8).write(to: endpoints)
        let files = try pki.files(for: .operator("auditor"))
        var options = try OperatorOptions.parse([])
        options.endpoints = endpoints.path
        options.ca = files.caCertificatePath
        options.cert = files.certificatePath
        options.key = files.privateKeyPath
        let keys = try PrincipalKeySet(jwks: try Data(contentsOf: URL(fileURLWithPath: pki.auditPublicKeysPath)))
        return try await OperatorClient.with(options) { client in
            try await AuditVerification(client: client, region: Self.eu, keys: keys).verify(tenant: tenant, since: since, now: now)
        }
    }

    /// Runs `sql` as the database superuser (the tamperer), triggers off for this session.
    func tamper(_ statements: [String]) async throws {
        try await database.with(database.superuserHere) { client in
            try await client.withConnection { connection in
                try await connection.query("SET session_replication_role = replica", logger: TestDatabase.logger)
                for statement in statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: TestDatabase.logger)
                }
            }
        }
    }

    /// The first column of `sql` run as the superuser.
    func superuserValues<T: PostgresDecodable & Sendable>(_ sql: String, as type: T.Type = T.self) async throws -> [T] {
        try await database.with(database.superuserHere) { client in
            try await client.values(PostgresQuery(unsafeSQL: sql), as: T.self)
        }
    }
}
