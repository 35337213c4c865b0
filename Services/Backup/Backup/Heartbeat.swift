import Foundation

/// Runs `work` while `beat` runs beside it every `interval`: a long job (a backup, an export's
/// build) records that its process is alive, so one whose process was killed stops counting as
/// running once it has been silent for a while. The beat stops when `work` ends.
func withHeartbeat<Result>(every interval: TimeInterval, beat: @escaping @Sendable () async -> Void,
                           _ work: () async throws -> Result) async throws -> Result {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask {
            while true {
                try await Task.sleep(for: .seconds(interval))
                await beat()
            }
        }
        // The beat ends with its sleep cancelled; the group discards that error.
        defer { group.cancelAll() }
        return try await work()
    }
}
