import Logging
import PostgresNIO
import RampartCore

extension Database {
    /// Runs `body` with a client for `url` that lives only as long as `body`, bounded by
    /// `timeout` so an unreachable database fails start-up instead of hanging it.
    public static func withTemporaryClient<Result: Sendable>(
        _ url: DatabaseURL, logger: Logger, timeout: Duration = .seconds(15),
        _ body: @escaping @Sendable (PostgresClient) async throws -> Result
    ) async throws -> Result {
        let client = PostgresClient(configuration: configuration(for: url, maximumConnections: 2), backgroundLogger: logger)
        return try await withThrowingTaskGroup(of: Result?.self) { group in
            group.addTask {
                await client.run()
                return nil
            }
            group.addTask {
                try await body(client)
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw DatabaseUnavailable(target: url.redacted)
            }
            defer { group.cancelAll() }
            while let next = try await group.next() {
                if let result = next { return result }
            }
            throw DatabaseUnavailable(target: url.redacted)
        }
    }
}

/// The database could not be reached in time; names the target without its password.
public struct DatabaseUnavailable: Error, CustomStringConvertible, Sendable {
    public let target: String
    public var description: String { "database unreachable: \(target)" }
}
