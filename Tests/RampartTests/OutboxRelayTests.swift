import Foundation
import Logging
import NIOHTTP1
import PostgresNIO
@testable import Audit
@testable import Control
@testable import Identity
import RampartCore
import RampartSecurity
import RampartStorage
import RampartTransport
import ServiceLifecycle
import Testing

@Suite("Outbox relay: identity's events reach audit, also after an audit outage")
struct OutboxRelayTests {
    let eu = Region(rawValue: "eu")!

    static var fast: OutboxRelay.Settings {
        var settings = OutboxRelay.Settings()
        settings.idleInterval = .milliseconds(100)
        settings.initialBackoff = .milliseconds(100)
        settings.maximumBackoff = .milliseconds(500)
        return settings
    }

    /// Polls `condition` for up to `seconds`.
    static func eventually(_ seconds: Int = 30, _ condition: () async throws -> Bool) async throws -> Bool {
        for _ in 0..<(seconds * 10) {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    @Test func eventsFromIdentityArriveEvenWhenAuditWasDownWhileTheyWereProduced() async throws {
        let database = try await TestDatabase.make()
        let pki = try TestPKI()
        let auditPort = try RunningService.freePort()
        try await RunningService.with(
            .identity, region: eu, pki: pki, signingKey: .generate(), database: database, migrations: IdentityMigrations.all,
            auditURL: "https://127.0.0.1:\(auditPort)",
            services: { runtime in OutboxRelay.services(for: runtime, settings: Self.fast) },
            routes: { router, runtime in try IdentityService.register(on: router, runtime: runtime, keys: try IdentityKeys(config: runtime.config)) }
        ) { identity in
            let operatorClient = InternalClient(tls: try InternalTLS(files: try pki.files(for: .operator("alice"))))
            let created = try await operatorClient.send(.POST, url: identity.baseURL + "/internal/v1/operator/tenants",
                                                        body: Data(#"{"slug":"acme","display_name":"Acme"}"#.utf8))
            #expect(created.status == 201)
            let tenant = try #require(((try JSONSerialization.jsonObject(with: created.body)) as? [String: Any])?["id"] as? String)
            let user = try await operatorClient.send(.POST, url: identity.baseURL + "/internal/v1/operator/tenants/acme/users",
                                                     body: Data(#"{"email":"ada@acme.test","name":"Ada","role":"admin"}"#.utf8))
            #expect(user.status == 201)
            try await operatorClient.shutdown()

            // Audit is down: the requests succeeded and the events wait in identity's outbox.
            try await Task.sleep(for: .seconds(1))
            let outbox = { @Sendable () async throws -> Int64 in
                try await database.with(database.superuserHere) { try await $0.values("SELECT count(*) FROM identity.outbox_events", as: Int64.self) }.first ?? -1
            }
            #expect(try await outbox() == 2)

            try await AuditFixture.with(database: database, pki: pki, port: auditPort) { fixture in
                let arrived = try await Self.eventually {
                    try await fixture.superuserValues("SELECT count(*) FROM audit.events WHERE tenant_id = '\(tenant)'", as: Int64.self) == [2]
                }
                #expect(arrived)
                #expect(try await Self.eventually { try await outbox() == 0 })
                let actions: [String] = try await fixture.superuserValues("SELECT action || '/' || service FROM audit.events WHERE tenant_id = '\(tenant)' ORDER BY seq")
                #expect(actions == ["tenant.created/identity", "user.created/identity"])
                let report = try await fixture.verify(try #require(TenantID(tenant)))
                #expect(report.broken == nil)
                #expect(report.rows == 2)
            }
        }
    }

    /// Identity's schema, migrated, on a fresh database; returns it.
    static func identitySchema() async throws -> TestDatabase {
        let database = try await TestDatabase.make()
        let runner = try MigrationRunner(schema: SQLIdentifier("identity")!, runtimeRole: try database.roles(.identity).runtime, migrations: IdentityMigrations.all)
        try await database.with(try database.url(.identity, owner: true)) { try await runner.migrate(client: $0, logger: TestDatabase.logger) }
        return database
    }

    /// Writes `event` into identity's outbox as identity would, bypassing row-level security as the superuser.
    static func enqueue(_ event: AuditEvent, in database: TestDatabase) async throws {
        try await database.with(database.superuserHere) { client in
            try await client.withConnection { connection in
                try await connection.query("SET search_path = identity", logger: TestDatabase.logger)
                try await AuditOutbox.append(event, on: connection, logger: TestDatabase.logger)
            }
        }
    }

    @Test func theRelayRoleOnlyReadsAndDeletesOutboxRowsAndTheRuntimeRoleSeesOneTenant() async throws {
        let database = try await Self.identitySchema()
        let acme = TenantID.random()
        let globex = TenantID.random()
        try await Self.enqueue(AuditFixture.event(acme), in: database)
        try await Self.enqueue(AuditFixture.event(globex), in: database)
        let relay = try database.databases.relayURL(service: .identity, region: eu, database: database.name)
        try await database.with(relay) { client in
            let visible = try await client.values("SELECT count(*) FROM outbox_events", as: Int64.self)
            #expect(visible == [2])
            for statement in [
                "UPDATE outbox_events SET occurred_at = now()",
                "INSERT INTO outbox_events (id, tenant_id, event) VALUES (gen_random_uuid(), gen_random_uuid(), '{}')",
                "SELECT count(*) FROM users",
                "SELECT count(*) FROM tenants",
            ] {
                await #expect(throws: PSQLError.self, "\(statement)") { _ = try await client.query(PostgresQuery(unsafeSQL: statement), logger: TestDatabase.logger).collect() }
            }
            // Setting a tenant does not let it change that tenant's rows either.
            await #expect(throws: (any Error).self) {
                try await client.withTransaction(logger: TestDatabase.logger) { connection in
                    try await connection.query("SELECT set_config('rampart.tenant_id', \(acme.description), true)", logger: TestDatabase.logger)
                    try await connection.query("UPDATE outbox_events SET occurred_at = now()", logger: TestDatabase.logger)
                }
            }
        }
        try await database.with(try database.url(.identity, owner: false)) { client in
            #expect(try await client.values("SELECT count(*) FROM outbox_events", as: Int64.self) == [0])
            let seen = try await client.withTransaction(logger: TestDatabase.logger) { connection in
                try await connection.query("SELECT set_config('rampart.tenant_id', \(acme.description), true)", logger: TestDatabase.logger)
                return try await connection.values("SELECT tenant_id FROM outbox_events", as: UUID.self)
            }
            #expect(seen == [acme.rawValue])
        }
    }

    @Test func aRefusedEventIsSetAsideWithoutHoldingUpTheOthers() async throws {
        let database = try await Self.identitySchema()
        try await AuditFixture.with(database: database) { fixture in
            let tenant = try await fixture.tenant()
            let stranger = AuditFixture.event(.random())
            try await Self.enqueue(AuditFixture.event(tenant, resourceID: "first"), in: database)
            try await Self.enqueue(stranger, in: database)
            try await Self.enqueue(AuditFixture.event(tenant, resourceID: "third"), in: database)
            let relay = OutboxRelay(
                database: try database.databases.relayURL(service: .identity, region: eu, database: database.name),
                auditURL: fixture.audit.baseURL, tls: try InternalTLS(files: try fixture.pki.files(for: .service(.identity, eu))),
                logger: TestDatabase.logger, settings: Self.fast
            )
            let group = ServiceGroup(configuration: .init(services: [relay], logger: TestDatabase.logger))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                let delivered = try await Self.eventually {
                    try await fixture.superuserValues("SELECT count(*) FROM audit.events WHERE tenant_id = '\(tenant)'", as: Int64.self) == [2]
                }
                #expect(delivered)
                // The refused event stays in the outbox: nothing is lost, it is offered again later.
                let left: [UUID] = try await fixture.superuserValues("SELECT id FROM identity.outbox_events")
                #expect(left == [stranger.id])
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
        }
    }
}
