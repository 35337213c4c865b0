import Foundation
@testable import Backup
import RampartCore
import RampartStorage
import Testing

/// The record of backup runs: one run per repository at a time, and a run whose process was
/// killed mid-backup does not hold its repository for ever.
@Suite("Backup runs: one at a time per repository, and a silent run gives the repository back")
struct BackupRunTests {
    /// `body` with backup's schema migrated in a database of its own, as backup's runtime role.
    static func withBackupDatabase(_ body: @escaping @Sendable (Database) async throws -> Void) async throws {
        let db = try await TestDatabase.make()
        let roles = try db.roles(.backup)
        let runner = try MigrationRunner(schema: SQLIdentifier("backup")!, runtimeRole: roles.runtime, migrations: BackupMigrations.all)
        try await db.with(try db.url(.backup, owner: true)) { try await runner.migrate(client: $0, logger: TestDatabase.logger) }
        try await Database.withTemporaryClient(try db.url(.backup, owner: false), logger: TestDatabase.logger, timeout: .seconds(60)) { client in
            try await body(Database(client: client, logger: TestDatabase.logger))
        }
    }

    func withRuns(_ body: @escaping @Sendable (BackupRunRepository) async throws -> Void) async throws {
        try await Self.withBackupDatabase { try await body(BackupRunRepository(database: $0)) }
    }

    @Test func aRunWhoseProcessFellSilentIsInterruptedAndTheRepositoryTakenAgain() async throws {
        try await withRuns { runs in
            let start = Date(timeIntervalSince1970: 1_900_000_000)
            let first = try #require(try await runs.start(repository: 1, type: .full, trigger: .schedule, at: start))
            // Alive: another start (a replica's schedule, an operator) waits its turn.
            #expect(try await runs.start(repository: 1, type: .incr, trigger: .operator, at: start.addingTimeInterval(60)) == nil)
            try await runs.beat(first, at: start.addingTimeInterval(240))
            #expect(try await runs.start(repository: 1, type: .incr, trigger: .operator, at: start.addingTimeInterval(480)) == nil,
                    "four minutes after its last heartbeat the run still holds the repository")
            #expect(try await runs.start(repository: 2, type: .full, trigger: .schedule, at: start.addingTimeInterval(480)) != nil,
                    "the other repository is not held")

            // Silent for more than five minutes: the process is gone; the run is recorded as interrupted.
            let second = try #require(try await runs.start(repository: 1, type: .incr, trigger: .operator, at: start.addingTimeInterval(600)))
            let recorded = try await runs.recent(limit: 10, repository: 1)
            #expect(recorded.map(\.id) == [second.id, first.id])
            #expect(recorded.last?.outcome == .failure)
            #expect(recorded.last?.error?.hasPrefix("interrupted") == true)

            // The old process, if it was only slow, cannot write its outcome over that.
            var late = first
            late.outcome = .success
            late.finishedAt = start.addingTimeInterval(700)
            try await runs.finish(late)
            #expect(try await runs.recent(limit: 10, repository: 1).last?.outcome == .failure)
        }
    }

    /// At start-up every repository's silent runs are recorded as interrupted; a run still beating
    /// (another replica's, however long it has run) is left running.
    @Test func atStartUpOnlySilentRunsAreInterrupted() async throws {
        try await withRuns { runs in
            let start = Date(timeIntervalSince1970: 1_900_000_000)
            let long = try #require(try await runs.start(repository: 1, type: .full, trigger: .schedule, at: start))
            let silent = try #require(try await runs.start(repository: 2, type: .full, trigger: .schedule, at: start))
            let later = start.addingTimeInterval(2 * 86_400)
            try await runs.beat(long, at: later.addingTimeInterval(-60))
            try await runs.abandonSilentRuns(at: later)
            #expect(try await runs.recent(limit: 10, repository: 1).first?.outcome == .running, "still beating after two days")
            let cut = try await runs.recent(limit: 10, repository: 2).first
            #expect(cut?.id == silent.id && cut?.outcome == .failure)
            #expect(cut?.error?.hasPrefix("interrupted") == true)
        }
    }
}
