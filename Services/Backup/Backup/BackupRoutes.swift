import Foundation
import Hummingbird
import RampartCore
import RampartSecurity
import RampartStorage
import RampartTransport

/// The backup service's internal API: the repositories' state (operators and the status page),
/// the run history, and a backup on demand (operators only).
struct BackupRoutes: Sendable {
    /// `nil` when this instance backs up no cluster (another instance owns the schedule).
    let scheduler: BackupScheduler?
    let runs: BackupRunRepository
    let stanza: String?

    struct Status: ResponseEncodable {
        var configured: Bool
        var stanza: String?
        var repositories: [RepositoryStatus]
        var recoveryWindowDays: [String: [Double]]

        enum CodingKeys: String, CodingKey {
            case configured, stanza, repositories
            case recoveryWindowDays = "recovery_window_days"
        }
    }

    struct RunRequest: Decodable {
        var repository: Int
        var type: PgBackRest.BackupType
    }

    struct Runs: ResponseEncodable {
        var data: [BackupRun]
    }

    func register(on router: Router<ServiceRequestContext>) {
        let group = router.group("/internal/v1/backup")
        group.get("status") { _, _ -> Status in
            guard let scheduler else { return Status(configured: false, stanza: nil, repositories: [], recoveryWindowDays: [:]) }
            let statuses = try await Self.answering { try await scheduler.refreshMetrics() }
            var windows: [String: [Double]] = [:]
            for repository in scheduler.schedule.repositories {
                if let window = scheduler.schedule.recoveryWindowDays(repository: repository) {
                    windows["repo\(repository)"] = [window.lowerBound, window.upperBound]
                }
            }
            return Status(configured: true, stanza: stanza, repositories: statuses, recoveryWindowDays: windows)
        }
        group.get("runs") { request, context -> Runs in
            try Self.requireOperator(context)
            let limit = request.uri.queryParameters.get("limit").flatMap(Int.init) ?? 20
            guard (1...500).contains(limit) else {
                throw ProblemError(status: .badRequest, code: "invalid_limit", title: "Invalid limit", detail: "limit is 1 to 500.")
            }
            return Runs(data: try await runs.recent(limit: limit))
        }
        group.post("runs") { request, context -> EditedResponse<BackupRun> in
            try Self.requireOperator(context)
            let body = try await JSONRequestBody.decode(RunRequest.self, from: request)
            guard let scheduler else {
                throw ProblemError(status: .conflict, code: "backup_not_configured", title: "No cluster to back up",
                                   detail: "This instance does not run the region's backups.")
            }
            guard scheduler.schedule.repositories.contains(body.repository) else {
                throw ProblemError(status: .badRequest, code: "invalid_repository", title: "Unknown repository",
                                   fieldErrors: [.init(field: "repository", message: "must be one of \(scheduler.schedule.repositories)")])
            }
            guard let run = try await scheduler.take(repository: body.repository, type: body.type, trigger: .operator) else {
                throw ProblemError(status: .conflict, code: "backup_running", title: "A backup is running",
                                   detail: "Repository \(body.repository) already has a backup in progress.")
            }
            guard run.outcome == .success else {
                throw ProblemError(status: .badGateway, code: "backup_failed", title: "The backup failed", detail: run.error)
            }
            return EditedResponse(status: .created, response: run)
        }
    }

    /// Operators only, whatever the allow-list lets through.
    static func requireOperator(_ context: ServiceRequestContext) throws {
        guard case .operator = context.caller else {
            throw ProblemError(status: .forbidden, code: "caller_not_allowed", title: "Caller not allowed")
        }
    }

    /// pgBackRest unreachable or failing: 503 with its message, not an opaque 500.
    static func answering<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let failure as PgBackRest.Failure {
            throw ProblemError(status: .serviceUnavailable, code: "repository_unavailable", title: "Backup repositories unavailable", detail: failure.message)
        }
    }
}

extension BackupRun: ResponseEncodable {}
