import Foundation
@testable import Backup
@testable import RampartStorage
import Testing

/// When backups are due and when a repository counts as stale, at exact moments.
@Suite("Backup: schedule and freshness")
struct BackupScheduleTests {
    let schedule = BackupSchedule.standard
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func backup(_ repository: Int, _ type: PgBackRest.BackupType, hoursAgo: Double) -> PgBackRest.Backup {
        let stopped = now.addingTimeInterval(-hoursAgo * 3_600)
        return PgBackRest.Backup(repository: repository, label: "l\(hoursAgo)", type: type, startedAt: stopped.addingTimeInterval(-60), stoppedAt: stopped)
    }

    func catalogue(_ backups: PgBackRest.Backup...) -> PgBackRest.Catalogue {
        PgBackRest.Catalogue(backups: backups, status: "ok")
    }

    @Test func anEmptyRepositoryNeedsAFullBackupAndIsStale() {
        let empty = catalogue()
        #expect(schedule.due(repository: 1, catalogue: empty, lastFailure: nil, now: now) == .full)
        #expect(schedule.isStale(repository: 1, catalogue: empty, now: now))
    }

    @Test func aDifferentialFollowsADayAfterTheNewestBackup() {
        let fresh = catalogue(backup(1, .full, hoursAgo: 30), backup(1, .diff, hoursAgo: 23.9))
        #expect(schedule.due(repository: 1, catalogue: fresh, lastFailure: nil, now: now) == nil)
        let due = catalogue(backup(1, .full, hoursAgo: 30), backup(1, .diff, hoursAgo: 24))
        #expect(schedule.due(repository: 1, catalogue: due, lastFailure: nil, now: now) == .diff)
        // The other repository's backups do not count for this one.
        #expect(schedule.due(repository: 2, catalogue: fresh, lastFailure: nil, now: now) == .full)
    }

    @Test func aWeekAfterTheNewestFullAnotherFullIsDue() {
        let week = catalogue(backup(2, .full, hoursAgo: 168), backup(2, .diff, hoursAgo: 1))
        #expect(schedule.due(repository: 2, catalogue: week, lastFailure: nil, now: now) == .full)
        let almost = catalogue(backup(2, .full, hoursAgo: 167.9), backup(2, .diff, hoursAgo: 1))
        #expect(schedule.due(repository: 2, catalogue: almost, lastFailure: nil, now: now) == nil)
    }

    @Test func aFailedRunIsRetriedOnlyAfterTheRetryInterval() {
        let empty = catalogue()
        #expect(schedule.due(repository: 1, catalogue: empty, lastFailure: now.addingTimeInterval(-899), now: now) == nil)
        #expect(schedule.due(repository: 1, catalogue: empty, lastFailure: now.addingTimeInterval(-900), now: now) == .full)
    }

    @Test func staleOnlyPastTheDifferentialIntervalPlusGrace() {
        #expect(!schedule.isStale(repository: 1, catalogue: catalogue(backup(1, .full, hoursAgo: 25)), now: now))
        #expect(schedule.isStale(repository: 1, catalogue: catalogue(backup(1, .full, hoursAgo: 25.01)), now: now))
    }

    @Test func theRecoveryWindowIsTheRetentionUpToOneFullIntervalMore() {
        #expect(schedule.recoveryWindowDays(repository: 1) == 35...42)
        #expect(schedule.recoveryWindowDays(repository: 2) == 60...67)
        #expect(schedule.recoveryWindowDays(repository: 3) == nil)
    }

    @Test func recoveryTargetsAreUTCWithMicroseconds() {
        let date = Date(timeIntervalSince1970: 1_795_950_313.905321)
        #expect(PgBackRest.targetFormat(date) == "2026-11-29 11:05:13.905321+00")
    }
}
