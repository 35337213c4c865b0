import Foundation
import PostgresNIO
import RampartCore
import RampartStorage
import Testing

@Suite("Migrations")
struct MigrationRunnerTests {
    func runner(_ db: TestDatabase, _ migrations: [Migration]) throws -> MigrationRunner {
        try MigrationRunner(schema: SQLIdentifier("tickets")!, runtimeRole: db.roles(.tickets).runtime, migrations: migrations)
    }

    let second = Migration(version: 2, name: "notes_index") { context in "CREATE INDEX notes_tenant ON \(context.schema).notes (tenant_id);" }

    @Test func appliesInOrderOnceAndRecordsEach() async throws {
        let db = try await TestDatabase.make()
        let runner = try runner(db, notesMigrations + [second])
        let (first, again) = try await db.with(try db.url(.tickets, owner: true)) { client in
            (try await runner.migrate(client: client, logger: TestDatabase.logger), try await runner.migrate(client: client, logger: TestDatabase.logger))
        }
        #expect(first == [1, 2])
        #expect(again == [])
        let recorded = try await db.with(try db.url(.tickets, owner: false)) { client in
            try await client.values("SELECT version FROM tickets.schema_migrations ORDER BY version", as: Int.self)
        }
        #expect(recorded == [1, 2])
    }

    @Test func concurrentStartsApplyEachMigrationOnce() async throws {
        let db = try await TestDatabase.make()
        let runner = try runner(db, notesMigrations + [second])
        let url = try db.url(.tickets, owner: true)
        let applied = try await withThrowingTaskGroup(of: [Int].self) { group in
            for _ in 0..<4 {
                group.addTask { try await db.with(url) { try await runner.migrate(client: $0, logger: TestDatabase.logger) } }
            }
            return try await group.reduce(into: [Int]()) { $0 += $1 }
        }
        #expect(applied.sorted() == [1, 2])
    }

    @Test func refusesToRunWhenAnAppliedMigrationWasEdited() async throws {
        let db = try await TestDatabase.make()
        let url = try db.url(.tickets, owner: true)
        try await db.with(url) { try await runner(db, notesMigrations).migrate(client: $0, logger: TestDatabase.logger) }
        let edited = [Migration(version: 1, name: "notes") { context in "CREATE TABLE \(context.schema).notes (id int);" }]
        let editedRunner = try runner(db, edited)
        await #expect(throws: MigrationError.edited(version: 1)) {
            try await db.with(url) { try await editedRunner.migrate(client: $0, logger: TestDatabase.logger) }
        }
    }

    @Test func refusesToRunWhenTheDatabaseIsAheadOfTheCode() async throws {
        let db = try await TestDatabase.make()
        let url = try db.url(.tickets, owner: true)
        try await db.with(url) { try await runner(db, notesMigrations + [second]).migrate(client: $0, logger: TestDatabase.logger) }
        let older = try runner(db, notesMigrations)
        await #expect(throws: MigrationError.unknownApplied(version: 2)) {
            try await db.with(url) { try await older.pending(client: $0, logger: TestDatabase.logger) }
        }
    }

    @Test func aFailingMigrationLeavesNothingBehind() async throws {
        let db = try await TestDatabase.make()
        let broken = Migration(version: 2, name: "broken") { _ in "CREATE TABLE half_done (id int); SELECT * FROM no_such_table;" }
        let url = try db.url(.tickets, owner: true)
        await #expect(throws: (any Error).self) {
            try await db.with(url) { try await runner(db, notesMigrations + [broken]).migrate(client: $0, logger: TestDatabase.logger) }
        }
        let tables = try await db.with(db.superuserHere) { client in
            try await client.values("SELECT count(*) FROM pg_tables WHERE schemaname = 'tickets' AND tablename IN ('notes', 'half_done')", as: Int.self)
        }
        #expect(tables == [0])
    }

    @Test func runtimeRoleCannotRewriteMigrationHistory() async throws {
        let db = try await TestDatabase.make()
        try await db.with(try db.url(.tickets, owner: true)) { try await runner(db, notesMigrations).migrate(client: $0, logger: TestDatabase.logger) }
        await #expect(throws: PSQLError.self) {
            try await db.with(try db.url(.tickets, owner: false)) { client in
                try await client.query("DELETE FROM tickets.schema_migrations")
            }
        }
    }

    @Test func rejectsMigrationsOutOfOrder() throws {
        let db = TestDatabase(superuser: DatabaseURL(host: "x", port: 1, username: "u", password: nil, database: "d", tlsMode: .disable), region: Region(rawValue: "eu")!, name: SQLIdentifier("d")!, rolePrefix: "p", secretsDirectory: "/tmp")
        #expect(throws: MigrationError.badOrder) { try runner(db, [second] + notesMigrations) }
    }
}
