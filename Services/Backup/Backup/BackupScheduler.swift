import Foundation
import Logging
import RampartStorage
import RampartTransport
import ServiceLifecycle

/// Runs the region's backups on their schedule, one repository at a time, records every outcome,
/// and keeps the freshness metrics that alert when a repository has no recent backup.
public struct BackupScheduler: Service {
    let pgBackRest: PgBackRest
    let schedule: BackupSchedule
    let runs: BackupRunRepository
    let metrics: RequestMetrics
    let logger: Logger
    /// How often the schedule is looked at.
    let checkInterval: Duration
    let clock: @Sendable () -> Date

    public init(pgBackRest: PgBackRest, schedule: BackupSchedule, runs: BackupRunRepository, metrics: RequestMetrics, logger: Logger,
                checkInterval: Duration, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.pgBackRest = pgBackRest
        self.schedule = schedule
        self.runs = runs
        self.metrics = metrics
        self.logger = logger
        self.checkInterval = checkInterval
        self.clock = clock
    }

    public func run() async throws {
        // A run still `running` whose process fell silent was cut off (this one's, before it restarted).
        try? await runs.abandonSilentRuns(at: clock())
        await Periodic.run(every: checkInterval) { await self.tick() }
    }

    /// Looks at the schedule once: takes every backup that is due, then refreshes the metrics.
    public func tick() async {
        do {
            let catalogue = try await pgBackRest.catalogue()
            for repository in schedule.repositories {
                let failure = try await runs.lastFailure(repository: repository)
                if let type = schedule.due(repository: repository, catalogue: catalogue, lastFailure: failure?.startedAt, now: clock()) {
                    _ = try await take(repository: repository, type: type, trigger: .schedule)
                }
            }
            try await refreshMetrics()
        } catch {
            logger.error("backup.schedule_failed", metadata: ["error": "\(error)"])
        }
    }

    /// Takes one backup now and records it; `nil` when the repository already has a run going.
    public func take(repository: Int, type: PgBackRest.BackupType, trigger: BackupRun.Trigger) async throws -> BackupRun? {
        guard var run = try await runs.start(repository: repository, type: type, trigger: trigger, at: clock()) else { return nil }
        logger.info("backup.started", metadata: ["repository": "\(repository)", "type": "\(type.rawValue)", "trigger": "\(trigger.rawValue)"])
        do {
            // While pgBackRest works, the run says it is alive: a run that stops saying so (this
            // process was killed) no longer holds the repository after a few minutes.
            run.label = try await withHeartbeat(every: BackupRunRepository.heartbeatInterval, beat: { [run, runs, clock, logger] in
                do { try await runs.beat(run, at: clock()) } catch { logger.warning("backup.heartbeat_failed", metadata: ["error": "\(Swift.type(of: error))"]) }
            }) {
                try await pgBackRest.backup(repository: repository, type: type)
            }
            run.outcome = .success
        } catch {
            run.outcome = .failure
            run.error = (error as? PgBackRest.Failure)?.message ?? "\(error)"
        }
        run.finishedAt = clock()
        try await runs.finish(run)
        metrics.registry.makeCounter(
            descriptor: .init(namespace: "rampart", subsystem: "backup", metricName: "runs", unitName: "total",
                              helpText: "Backup runs by repository, type and outcome."),
            labels: [("repository", String(repository)), ("type", type.rawValue), ("outcome", run.outcome.rawValue)]
        ).increment()
        if run.outcome == .success {
            logger.info("backup.succeeded", metadata: ["repository": "\(repository)", "label": "\(run.label ?? "")"])
        } else {
            logger.error("backup.failed", metadata: ["repository": "\(repository)", "error": "\(run.error ?? "")"])
        }
        return run
    }

    /// The freshness of each repository, as metrics and one error line per stale repository.
    @discardableResult
    public func refreshMetrics() async throws -> [RepositoryStatus] {
        let statuses = try await status()
        for status in statuses {
            let labels = [("repository", String(status.repository))]
            metrics.registry.makeGauge(
                descriptor: .init(namespace: "rampart", subsystem: "backup", metricName: "newest_age", unitName: "seconds",
                                  helpText: "Seconds since the newest backup of the repository finished (-1: none)."),
                labels: labels
            ).set(to: status.newestAgeSeconds ?? -1)
            metrics.registry.makeGauge(
                descriptor: .init(namespace: "rampart", subsystem: "backup", metricName: "stale", unitName: "",
                                  helpText: "1 when the repository's newest backup is older than its schedule allows."),
                labels: labels
            ).set(to: status.stale ? 1.0 : 0.0)
            if status.stale {
                logger.error("backup.stale", metadata: ["repository": "\(status.repository)", "newest": "\(status.newest?.label ?? "none")"])
            }
        }
        return statuses
    }

    /// Each repository's newest backup, freshness and restorable span.
    public func status() async throws -> [RepositoryStatus] {
        let catalogue = try await pgBackRest.catalogue()
        let now = clock()
        var statuses: [RepositoryStatus] = []
        for repository in schedule.repositories {
            let newest = catalogue.newest(in: repository)
            statuses.append(RepositoryStatus(
                repository: repository,
                newest: newest.map { .init(label: $0.label, type: $0.type, finishedAt: $0.stoppedAt) },
                newestAgeSeconds: newest.map { now.timeIntervalSince($0.stoppedAt) },
                stale: schedule.isStale(repository: repository, catalogue: catalogue, now: now),
                earliestRecoverableAt: catalogue.earliestRecoverable(in: repository),
                retentionDays: schedule.retentionDays[repository] ?? 0,
                lastFailure: try await runs.lastFailure(repository: repository).map { .init(at: $0.startedAt, error: $0.error ?? "") }
            ))
        }
        return statuses
    }
}

/// One repository's state, as operators and the status page see it.
public struct RepositoryStatus: Codable, Sendable {
    public struct Newest: Codable, Sendable {
        public let label: String
        public let type: PgBackRest.BackupType
        public let finishedAt: Date
        enum CodingKeys: String, CodingKey {
            case label, type
            case finishedAt = "finished_at"
        }
    }

    public struct Failure: Codable, Sendable {
        public let at: Date
        public let error: String
    }

    public let repository: Int
    public let newest: Newest?
    public let newestAgeSeconds: Double?
    public let stale: Bool
    public let earliestRecoverableAt: Date?
    public let retentionDays: Int
    public let lastFailure: Failure?

    enum CodingKeys: String, CodingKey {
        case repository, newest, stale
        case newestAgeSeconds = "newest_age_seconds"
        case earliestRecoverableAt = "earliest_recoverable_at"
        case retentionDays = "retention_days"
        case lastFailure = "last_failure"
    }
}
