import Foundation
@testable import Backup
import RampartCore
import RampartStorage
import Synchronization
import Testing

/// The record of export builds: one per tenant at a time, and a build whose process was stopped
/// mid-way does not hold the tenant's exports for ever (it used to hold them for a day, and for
/// good when it was cut off before its folder existed).
@Suite("Tenant exports: one build at a time per tenant, and a silent build gives the tenant back")
struct ExportBuildTests {
    func withExports(_ body: @escaping @Sendable (TenantExportRepository) async throws -> Void) async throws {
        let db = try await TestDatabase.make()
        let roles = try db.roles(.backup)
        let runner = try MigrationRunner(schema: SQLIdentifier("backup")!, runtimeRole: roles.runtime, migrations: BackupMigrations.all)
        try await db.with(try db.url(.backup, owner: true)) { try await runner.migrate(client: $0, logger: TestDatabase.logger) }
        try await Database.withTemporaryClient(try db.url(.backup, owner: false), logger: TestDatabase.logger, timeout: .seconds(60)) { client in
            try await body(TenantExportRepository(database: Database(client: client, logger: TestDatabase.logger)))
        }
    }

    @Test func aBuildWhoseProcessFellSilentIsFailedAndTheTenantMayExportAgain() async throws {
        try await withExports { exports in
            let acme = TenantID(rawValue: UUID()), globex = TenantID(rawValue: UUID())
            let start = Date(timeIntervalSince1970: 1_900_000_000)
            func begin(_ tenant: TenantID, after seconds: TimeInterval) async throws -> TenantExport? {
                let at = start.addingTimeInterval(seconds)
                return try await exports.start(tenant: tenant, requestedBy: "admin:x", at: at, expiresAt: at.addingTimeInterval(86_400))
            }
            let first = try #require(try await begin(acme, after: 0))
            // Alive: another request waits its turn.
            #expect(try await begin(acme, after: 60) == nil)
            try await exports.beat(first, at: start.addingTimeInterval(240))
            #expect(try await begin(acme, after: 480) == nil, "four minutes after its last heartbeat the build still holds the tenant")
            #expect(try await exports.failInterrupted(tenant: acme, at: start.addingTimeInterval(480)).isEmpty)
            #expect(try await begin(globex, after: 480) != nil, "another tenant is not held")

            // Silent for more than five minutes: the process is gone; the build is failed as interrupted.
            let second = try #require(try await begin(acme, after: 600))
            let failed = try #require(try await exports.find(first.id, tenant: acme))
            #expect(failed.state == .failed)
            #expect(failed.error?.hasPrefix("interrupted") == true)
            #expect(try await exports.find(second.id, tenant: acme)?.state == .running)

            // The old process, if it was only slow, cannot record its outcome over that.
            var late = first
            late.state = .completed
            late.completedAt = start.addingTimeInterval(700)
            #expect(try await exports.finish(late) == false)
            #expect(try await exports.find(first.id, tenant: acme)?.state == .failed)

            // The sweep's way: the second build falls silent too.
            #expect(try await exports.failInterrupted(tenant: acme, at: start.addingTimeInterval(600 + 299)).isEmpty)
            #expect(try await exports.failInterrupted(tenant: acme, at: start.addingTimeInterval(600 + 301)) == [second.id])
            #expect(try await exports.failInterrupted(tenant: globex, at: start.addingTimeInterval(480 + 200)).isEmpty)
        }
    }

    @Test func theHeartbeatBeatsWhileTheWorkRunsAndStopsWithIt() async throws {
        let beats = Atomic<Int>(0)
        let answer = try await withHeartbeat(every: 0.02, beat: { beats.add(1, ordering: .relaxed) }) {
            try await Task.sleep(for: .milliseconds(400))
            return 42
        }
        #expect(answer == 42)
        let counted = beats.load(ordering: .relaxed)
        #expect(counted >= 1, "no beat in twenty intervals")
        try await Task.sleep(for: .milliseconds(200))
        #expect(beats.load(ordering: .relaxed) == counted, "the beat went on after the work ended")
        // Work that fails ends the beat too, with the work's error.
        await #expect(throws: CancellationError.self) {
            try await withHeartbeat(every: 0.02, beat: {}) { () async throws -> Int in throw CancellationError() }
        }
    }
}
