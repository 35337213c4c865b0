/// The database did not answer in time.
struct DeadlineExceeded: Error {}

/// Runs `operation`, cancelling it after `limit`: a page that must answer cannot wait for a
/// database that does not (postgres-nio gives up a connection wait when its task is cancelled).
func withDeadline<T: Sendable>(_ limit: Duration, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: limit)
            throw DeadlineExceeded()
        }
        defer { group.cancelAll() }
        guard let first = try await group.next() else { throw DeadlineExceeded() }
        return first
    }
}
