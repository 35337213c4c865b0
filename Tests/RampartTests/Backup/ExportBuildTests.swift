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
        try await BackupRunTests.withBackupDatabase { try await body(TenantExportRepository(database: $0)) }
    }

    @Test func aBuildWhoseProcessFellSilentIsFailedAndTheTenantMayExportAgain() async throws {
        try await withExports { exports in
            let acme = TenantID(rawValue: UUID()), globex = TenantID(rawValue: UUID())
            let start = Date(timeIntervalSince1970: 1_900_000_000)
            func begin(_ tenant: TenantID, after seconds: TimeInterval) async throws -> TenantExport? {
                let at = start.addingTimeInterval(seconds)
                return try await exports.start(tenant: tenant, requestedBy: "admin:x", at: at, expiresAt: at.addingTimeInterval(86_400)).export
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

    /// A build recorded by the version before heartbeats (a rolling deploy) has none: it keeps
    /// that version's rule, a day, instead of being failed five minutes in.
    @Test func aBuildWithoutHeartbeatsKeepsADay() async throws {
        try await withExports { exports in
            let tenant = TenantID(rawValue: UUID()), id = UUID()
            let start = Date(timeIntervalSince1970: 1_900_000_000)
            try await exports.database.withTenant(tenant) { connection in
                _ = try await connection.query("""
                    INSERT INTO tenant_exports (id, tenant_id, requested_by, requested_at, expires_at)
                    VALUES (\(id), \(tenant.rawValue), 'admin:x', \(start), \(start.addingTimeInterval(7 * 86_400)))
                    """, logger: TestDatabase.logger)
            }
            #expect(try await exports.failInterrupted(tenant: tenant, at: start.addingTimeInterval(3_600)).isEmpty)
            #expect(try await exports.failInterrupted(tenant: tenant, at: start.addingTimeInterval(86_400 + 301)) == [id])
        }
    }

    @Test func theHeartbeatBeatsWhileTheWorkRunsAndStopsWithIt() async throws {
        let beats = Atomic<Int>(0)
        // The work lasts until it has seen two beats (at most 60 s: a machine busy with other
        // tests may run the beat late, but it must run).
        let answer = try await withHeartbeat(every: 0.01, beat: { beats.add(1, ordering: .relaxed) }) {
            let deadline = ContinuousClock.now + .seconds(60)
            while beats.load(ordering: .relaxed) < 2, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
            return 42
        }
        #expect(answer == 42)
        let counted = beats.load(ordering: .relaxed)
        #expect(counted >= 2, "the beat did not run while the work did")
        // withHeartbeat has returned: its beat has ended, whatever the machine's load.
        try await Task.sleep(for: .milliseconds(100))
        #expect(beats.load(ordering: .relaxed) == counted, "the beat went on after the work ended")
        // Work that fails ends the beat too, with the work's own error (not the beat's cancellation).
        struct Failed: Error {}
        await #expect(throws: Failed.self) {
            try await withHeartbeat(every: 0.02, beat: {}) { () async throws -> Int in
                try await Task.sleep(for: .milliseconds(50))
                throw Failed()
            }
        }
    }
}
