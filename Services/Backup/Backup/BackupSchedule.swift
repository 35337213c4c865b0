import Foundation
import RampartStorage

/// When the region's cluster is backed up: a full backup every `fullInterval`, a differential one
/// whenever the newest backup is older than `differentialInterval`, into each repository; a
/// repository whose newest backup is older than the differential interval plus `grace` is stale.
public struct BackupSchedule: Sendable, Equatable {
    public var fullInterval: TimeInterval
    public var differentialInterval: TimeInterval
    /// How long a late backup is tolerated before it is reported stale.
    public var grace: TimeInterval
    /// How long after a failed run the same repository is tried again.
    public var retryInterval: TimeInterval
    /// Days each repository keeps full backups (pgBackRest's time-based retention).
    public var retentionDays: [Int: Int]

    /// Weekly full, daily differential, one hour of grace, retry after 15 minutes; 35 days in
    /// repo1 (in-region), 60 in repo2 (off-site).
    public static let standard = BackupSchedule(
        fullInterval: 7 * 86_400, differentialInterval: 86_400, grace: 3_600, retryInterval: 900,
        retentionDays: [1: 35, 2: 60]
    )

    public init(fullInterval: TimeInterval, differentialInterval: TimeInterval, grace: TimeInterval, retryInterval: TimeInterval, retentionDays: [Int: Int]) {
        self.fullInterval = fullInterval
        self.differentialInterval = differentialInterval
        self.grace = grace
        self.retryInterval = retryInterval
        self.retentionDays = retentionDays
    }

    /// The repositories the schedule covers.
    public var repositories: [Int] { retentionDays.keys.sorted() }

    /// The backup `repository` needs at `now`, if any, given its catalogue and its last failure.
    public func due(repository: Int, catalogue: PgBackRest.Catalogue, lastFailure: Date?, now: Date) -> PgBackRest.BackupType? {
        if let lastFailure, now.timeIntervalSince(lastFailure) < retryInterval { return nil }
        let backups = catalogue.backups.filter { $0.repository == repository }
        guard let newestFull = backups.filter({ $0.type == .full }).map(\.stoppedAt).max(),
              now.timeIntervalSince(newestFull) < fullInterval
        else { return .full }
        let newest = backups.map(\.stoppedAt).max() ?? newestFull
        return now.timeIntervalSince(newest) >= differentialInterval ? .diff : nil
    }

    /// Whether `repository` has no backup recent enough.
    public func isStale(repository: Int, catalogue: PgBackRest.Catalogue, now: Date) -> Bool {
        guard let newest = catalogue.newest(in: repository) else { return true }
        return now.timeIntervalSince(newest.stoppedAt) > differentialInterval + grace
    }

    /// The span of time a repository can restore to once it is in its steady state: at least its
    /// retention, at most the retention plus one full interval (a full backup expires only when
    /// the next one is older than the retention, and the differentials depend on it).
    public func recoveryWindowDays(repository: Int) -> ClosedRange<Double>? {
        guard let days = retentionDays[repository] else { return nil }
        return Double(days)...(Double(days) + fullInterval / 86_400)
    }
}
