import Foundation
import Logging
import PostgresNIO
import RampartCore
import RampartStorage

/// One backup run as recorded.
public struct BackupRun: Codable, Sendable, Equatable {
    public enum Outcome: String, Codable, Sendable { case running, success, failure }
    public enum Trigger: String, Codable, Sendable { case schedule, `operator` }

    public let id: UUID
    public let repository: Int
    public let type: PgBackRest.BackupType
    public let trigger: Trigger
    public let startedAt: Date
    public var finishedAt: Date?
    public var outcome: Outcome
    public var label: String?
    public var error: String?

    enum CodingKeys: String, CodingKey {
        case id, repository, type, trigger, outcome, label, error
        case startedAt = "started_at"
        case finishedAt = "finished_at"
    }
}

/// The record of backup runs in the `backup` schema.
public struct BackupRunRepository: Sendable {
    let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// How often a running backup's process records that it is alive (``beat(_:at:)``), and how
    /// long a run may go without that before it counts as cut off (its process was killed).
    public static let heartbeatInterval: TimeInterval = 60
    public static let silenceLimit: TimeInterval = 300

    /// Records a run as started; `nil` when the repository already has one running (another
    /// replica or an operator got there first). A run whose process has been silent for
    /// ``silenceLimit`` is recorded as interrupted first and does not hold the repository.
    public func start(repository: Int, type: PgBackRest.BackupType, trigger: BackupRun.Trigger, at now: Date) async throws -> BackupRun? {
        let run = BackupRun(id: UUIDv7.make(at: now), repository: repository, type: type, trigger: trigger, startedAt: now, outcome: .running)
        let inserted = try await database.withTransaction { connection in
            try await Self.failSilent(repository: repository, at: now, on: connection, logger: database.logger)
            let rows = try await connection.query("""
                INSERT INTO backup.backup_runs (id, repository, type, trigger, started_at, outcome, heartbeat_at)
                VALUES (\(run.id), \(repository), \(type.rawValue), \(trigger.rawValue), \(now), 'running', \(now))
                ON CONFLICT (repository) WHERE outcome = 'running' DO NOTHING
                RETURNING id
                """, logger: database.logger)
            var count = 0
            for try await _ in rows.decode(UUID.self) { count += 1 }
            return count
        }
        return inserted == 1 ? run : nil
    }

    /// Records that `run`'s process is still alive, every ``heartbeatInterval`` while it runs.
    public func beat(_ run: BackupRun, at now: Date) async throws {
        _ = try await database.withTransaction { connection in
            try await connection.query("""
                UPDATE backup.backup_runs SET heartbeat_at = \(now) WHERE id = \(run.id) AND outcome = 'running'
                """, logger: database.logger)
        }
    }

    static let interrupted = "interrupted: the backup service stopped during the run"

    /// Records how a started run ended (a run already recorded as interrupted stays so).
    public func finish(_ run: BackupRun) async throws {
        _ = try await database.withTransaction { connection in
            try await connection.query("""
                UPDATE backup.backup_runs SET outcome = \(run.outcome.rawValue), finished_at = \(run.finishedAt),
                    label = \(run.label), error = \(run.error.map { String($0.prefix(600)) })
                WHERE id = \(run.id) AND outcome = 'running'
                """, logger: database.logger)
        }
    }

    /// Records the runs of every repository whose process has been silent for ``silenceLimit``
    /// as interrupted (a run another replica is still beating for stays running).
    public func abandonSilentRuns(at now: Date) async throws {
        _ = try await database.withTransaction { connection in
            try await Self.failSilent(repository: nil, at: now, on: connection, logger: database.logger)
        }
    }

    /// The runs of `repository` (of every one when `nil`) silent for ``silenceLimit`` by `now`,
    /// recorded as interrupted; one started before heartbeats existed (a rolling deploy) counts
    /// as silent a day after it started.
    private static func failSilent(repository: Int?, at now: Date, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("""
            UPDATE backup.backup_runs SET outcome = 'failure', finished_at = \(now), error = \(interrupted)
            WHERE (\(repository)::integer IS NULL OR repository = \(repository)) AND outcome = 'running'
              AND COALESCE(heartbeat_at, started_at + interval '1 day') < \(now.addingTimeInterval(-silenceLimit))
            """, logger: logger)
    }

    /// The newest runs, newest first.
    public func recent(limit: Int, repository: Int? = nil) async throws -> [BackupRun] {
        try await database.withTransaction { connection in
            let rows = try await connection.query("""
                SELECT id, repository::bigint, type, trigger, started_at, finished_at, outcome, label, error
                FROM backup.backup_runs
                WHERE \(repository)::bigint IS NULL OR repository = \(repository)::bigint
                ORDER BY started_at DESC LIMIT \(limit)
                """, logger: database.logger)
            var runs: [BackupRun] = []
            for try await (id, repository, type, trigger, started, finished, outcome, label, error)
                in rows.decode((UUID, Int, String, String, Date, Date?, String, String?, String?).self) {
                guard let type = PgBackRest.BackupType(rawValue: type), let trigger = BackupRun.Trigger(rawValue: trigger),
                      let outcome = BackupRun.Outcome(rawValue: outcome) else { continue }
                runs.append(BackupRun(id: id, repository: repository, type: type, trigger: trigger, startedAt: started,
                                      finishedAt: finished, outcome: outcome, label: label, error: error))
            }
            return runs
        }
    }

    /// When `repository`'s newest run failed, if its newest run did fail.
    public func lastFailure(repository: Int) async throws -> BackupRun? {
        guard let newest = try await recent(limit: 1, repository: repository).first, newest.outcome == .failure else { return nil }
        return newest
    }
}
