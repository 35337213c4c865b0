import Foundation
import Logging
import PostgresNIO
import RampartCore
import RampartStorage
import Testing

/// A tenant table in the tickets schema, created the way every service's migrations create one.
let notesMigrations: [Migration] = [
    Migration(version: 1, name: "notes") { context in
        """
        CREATE TABLE \(context.schema).notes (
            id bigserial PRIMARY KEY,
            tenant_id uuid NOT NULL,
            body text NOT NULL
        );
        \(context.tenantIsolation(table: "notes"))
        """
    },
]

@Suite("Row-level security and roles")
struct RowLevelSecurityTests {
    static let tenants = (a: TenantID.random(), b: TenantID.random())
    var tenantA: TenantID { Self.tenants.a }
    var tenantB: TenantID { Self.tenants.b }

    /// One region database for the suite, prepared once: the tests only read, or try writes that must fail.
    static let fixture = Task { try await prepare() }

    func prepared() async throws -> (TestDatabase, Database) {
        try await Self.fixture.value
    }

    /// A fresh region database with the notes table migrated and one note per tenant.
    static func prepare() async throws -> (TestDatabase, Database) {
        let tenantA = tenants.a, tenantB = tenants.b
        let db = try await TestDatabase.make()
        let roles = try db.roles(.tickets)
        let runner = try MigrationRunner(schema: SQLIdentifier("tickets")!, runtimeRole: roles.runtime, migrations: notesMigrations)
        try await db.with(try db.url(.tickets, owner: true)) { client in
            try await runner.migrate(client: client, logger: TestDatabase.logger)
        }
        let (a, b) = (tenantA, tenantB)
        try await db.with(try db.url(.tickets, owner: false)) { client in
            let database = Database(client: client, logger: TestDatabase.logger)
            try await database.withTenant(a) { try await $0.query("INSERT INTO notes (tenant_id, body) VALUES (\(a.rawValue), 'a')", logger: TestDatabase.logger) }
            try await database.withTenant(b) { try await $0.query("INSERT INTO notes (tenant_id, body) VALUES (\(b.rawValue), 'b')", logger: TestDatabase.logger) }
        }
        return (db, Database(url: try db.url(.tickets, owner: false), logger: TestDatabase.logger))
    }

    /// Runs `body` with the runtime role's pooled database.
    func asRuntime<R: Sendable>(_ db: TestDatabase, _ body: @escaping @Sendable (Database) async throws -> R) async throws -> R {
        try await db.with(try db.url(.tickets, owner: false)) { client in
            try await body(Database(client: client, logger: TestDatabase.logger))
        }
    }

    @Test func withoutATenantSetTenantTablesShowNothingAndAcceptNothing() async throws {
        let (db, _) = try await prepared()
        let a = tenantA
        try await asRuntime(db) { database in
            let count = try await database.client.values("SELECT count(*) FROM notes", as: Int.self)
            #expect(count == [0])
            await #expect(throws: PSQLError.self) {
                try await database.client.query("INSERT INTO notes (tenant_id, body) VALUES (\(a.rawValue), 'x')")
            }
        }
    }

    @Test func tenantSeesOnlyItsOwnRows() async throws {
        let (db, _) = try await prepared()
        let a = tenantA
        let bodies = try await asRuntime(db) { database in
            try await database.withTenant(a) { try await $0.values("SELECT body FROM notes ORDER BY id", as: String.self) }
        }
        #expect(bodies == ["a"])
    }

    @Test func tenantCannotInsertUpdateOrDeleteAnotherTenantsRows() async throws {
        let (db, _) = try await prepared()
        let (a, b) = (tenantA, tenantB)
        try await asRuntime(db) { database in
            await #expect(throws: PSQLError.self) {
                try await database.withTenant(a) { try await $0.query("INSERT INTO notes (tenant_id, body) VALUES (\(b.rawValue), 'planted')", logger: TestDatabase.logger) }
            }
            let updated = try await database.withTenant(a) {
                try await $0.values("WITH changed AS (UPDATE notes SET body = 'hijacked' WHERE tenant_id = \(b.rawValue) RETURNING 1) SELECT count(*) FROM changed", as: Int.self)
            }
            #expect(updated == [0])
            let deleted = try await database.withTenant(a) {
                try await $0.values("WITH gone AS (DELETE FROM notes WHERE tenant_id = \(b.rawValue) RETURNING 1) SELECT count(*) FROM gone", as: Int.self)
            }
            #expect(deleted == [0])
            // Moving an own row to the other tenant is refused by WITH CHECK.
            await #expect(throws: PSQLError.self) {
                try await database.withTenant(a) { try await $0.query("UPDATE notes SET tenant_id = \(b.rawValue)", logger: TestDatabase.logger) }
            }
        }
        // B's row is exactly as it was, seen as B.
        let bodies = try await asRuntime(db) { database in
            try await database.withTenant(b) { try await $0.values("SELECT body FROM notes", as: String.self) }
        }
        #expect(bodies == ["b"])
    }

    @Test func theTenantSettingDoesNotOutliveItsTransaction() async throws {
        let (db, _) = try await prepared()
        let a = tenantA
        let leaked = try await db.with(try db.url(.tickets, owner: false)) { client in
            // One connection only, so the next query surely reuses the connection the tenant was set on.
            let database = Database(client: client, logger: TestDatabase.logger)
            _ = try await database.withTenant(a) { try await $0.values("SELECT count(*) FROM notes", as: Int.self) }
            return try await client.withConnection { try await $0.values("SELECT count(*) FROM notes", as: Int.self) }
        }
        #expect(leaked == [0])
    }

    @Test(arguments: [
        "ALTER TABLE notes DISABLE ROW LEVEL SECURITY",
        "ALTER TABLE notes NO FORCE ROW LEVEL SECURITY",
        "DROP POLICY tenant_isolation ON notes",
        "DROP TABLE notes",
        "ALTER TABLE notes ADD COLUMN extra text",
        "TRUNCATE notes",
        "CREATE TABLE tickets.sneaky (id int)",
        "CREATE TABLE public.sneaky (id int)",
        "SELECT count(*) FROM audit.schema_migrations",
        "SET SESSION AUTHORIZATION postgres",
        "SET ROLE postgres",
        "ALTER ROLE CURRENT_USER BYPASSRLS",
    ])
    func runtimeRoleCannotWeakenIsolation(_ statement: String) async throws {
        let (db, _) = try await prepared()
        let state = try await asRuntime(db) { database -> String? in
            do {
                try await database.client.query(PostgresQuery(unsafeSQL: statement))
                return nil
            } catch let error as PSQLError {
                return error.serverInfo?[.sqlState]
            }
        }
        // 42501: insufficient_privilege — refused for lack of rights, not for any other reason.
        #expect(state == "42501")
    }

    @Test func runtimeRoleCannotConnectToAnotherRegionsDatabase() async throws {
        let eu = try await TestDatabase.make(region: Region(rawValue: "eu")!)
        let us = try await TestDatabase.make(region: Region(rawValue: "us")!, prefix: eu.rolePrefix)
        var crossing = try eu.url(.tickets, owner: false)
        crossing.database = us.name.name
        let refused = await #expect(throws: DatabaseUnavailable.self) { try await Database.probe(crossing, logger: TestDatabase.logger) }
        // 42501: the role exists and its password is right, but it may not connect to this database.
        #expect(refused?.reason.contains("SQLSTATE 42501") == true)
        // The same role reaches its own region's database.
        try await Database.probe(try eu.url(.tickets, owner: false), logger: TestDatabase.logger)
    }

    @Test func databaseRecordsItsRegion() async throws {
        let (db, _) = try await prepared()
        let region = try await asRuntime(db) { try await $0.recordedRegion() }
        #expect(region == "eu")
    }

    @Test func everyTenantTableInEveryServiceSchemaForcesRowLevelSecurity() async throws {
        let (db, _) = try await prepared()
        let unprotected = try await db.with(db.superuserHere) { client in
            try await client.values("""
                SELECT n.nspname || '.' || c.relname
                FROM pg_class c
                JOIN pg_namespace n ON n.oid = c.relnamespace
                JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
                WHERE c.relkind IN ('r', 'p')
                  AND n.nspname IN ('identity', 'tickets', 'audit', 'backup', 'status')
                  AND NOT (c.relrowsecurity AND c.relforcerowsecurity)
                """, as: String.self)
        }
        #expect(unprotected.isEmpty)
        let protected = try await db.with(db.superuserHere) { client in
            try await client.values("SELECT count(*) FROM pg_class WHERE relname = 'notes' AND relrowsecurity AND relforcerowsecurity", as: Int.self)
        }
        #expect(protected == [1])
    }

    @Test func runtimeRoleOwnsNothingAndCannotBypassRowSecurity() async throws {
        let (db, _) = try await prepared()
        let runtime = try db.roles(.tickets).runtime.name
        let flags = try await db.with(db.superuserHere) { client in
            try await client.values("""
                SELECT (SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE r.rolname = \(runtime))
                     + (SELECT count(*) FROM pg_roles WHERE rolname = \(runtime) AND (rolsuper OR rolbypassrls OR rolcreaterole OR rolcreatedb))
                """, as: Int.self)
        }
        #expect(flags == [0])
    }
}
