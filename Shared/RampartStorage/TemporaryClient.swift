import Logging
import NIOSSL
import PostgresNIO
import RampartCore

extension Database {
    /// Runs `body` with a client for `url` that lives only as long as `body`, bounded by
    /// `timeout` so an unreachable database fails start-up instead of hanging it. The bound is
    /// generous: a server busy with other databases' start-ups (a test run, a region's restart)
    /// is slow, not gone, and a refused connection fails at once anyway.
    public static func withTemporaryClient<Result: Sendable>(
        _ url: DatabaseURL, logger: Logger, timeout: Duration = .seconds(60), maximumConnections: Int = 2,
        _ body: @escaping @Sendable (PostgresClient) async throws -> Result
    ) async throws -> Result {
        let client = PostgresClient(configuration: configuration(for: url, maximumConnections: maximumConnections), backgroundLogger: logger)
        return try await client.whileRunning {
            try await withThrowingTaskGroup(of: Result.self) { group in
                group.addTask {
                    try await body(client)
                }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    throw DatabaseUnavailable(target: url.redacted, reason: "did not finish within \(timeout) (unreachable or too busy)")
                }
                defer { group.cancelAll() }
                guard let result = try await group.next() else { throw DatabaseUnavailable(target: url.redacted) }
                return result
            }
        }
    }
}

extension PostgresClient {
    /// Runs `body` while this client runs, and stops the client only once `body` has returned.
    ///
    /// `PostgresClient.run()` shuts its pool down by itself when the service group it runs in
    /// shuts down gracefully. A query that asked for a connection at that moment could wait
    /// forever (a relay stopping in a test did, and the whole run with it). Run here, outside the
    /// group's graceful-shutdown context, the pool hears of the shutdown only through its user:
    /// `body` stops (it may watch the shutdown itself), then the pool closes.
    public func whileRunning<Result: Sendable>(_ body: () async throws -> Result) async throws -> Result {
        let pool = Task.detached { await self.run() }
        let result: Swift.Result<Result, any Error>
        do {
            result = .success(try await body())
        } catch {
            result = .failure(error)
        }
        pool.cancel()
        await pool.value
        return try result.get()
    }
}

extension Database {
    /// One connection attempt to `url`, bounded by `timeout`: a refused connection or login fails
    /// at once with a clear reason, where a pool would keep retrying; a server that does not answer
    /// fails after `timeout` (a minute: a busy server answers late, and 10 s failed test runs).
    public static func probe(_ url: DatabaseURL, logger: Logger, timeout: Duration = .seconds(60)) async throws {
        let tls: PostgresConnection.Configuration.TLS
        switch url.tlsMode {
        case .disable:
            tls = .disable
        case .require, .verifyFull:
            var configuration = TLSConfiguration.makeClientConfiguration()
            if url.tlsMode == .require { configuration.certificateVerification = .none }
            tls = .require(try NIOSSLContext(configuration: configuration))
        }
        let configuration = PostgresConnection.Configuration(
            host: url.host, port: url.port, username: url.username, password: url.password, database: url.database, tls: tls
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
                    try await connection.close()
                } catch let error as PSQLError {
                    if let state = error.serverInfo?[.sqlState] {
                        throw DatabaseUnavailable(target: url.redacted, reason: "refused the connection (SQLSTATE \(state))")
                    }
                    // No answer from the server itself (refused, reset, closed): the transport's reason.
                    throw DatabaseUnavailable(target: url.redacted, reason: "is unreachable (\(error.code)\(error.underlying.map { ": \($0)" } ?? ""))")
                }
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw DatabaseUnavailable(target: url.redacted, reason: "did not answer within \(timeout)")
            }
            defer { group.cancelAll() }
            try await group.next()
        }
    }
}

/// The database could not be reached or refused the login; names the target without its password.
public struct DatabaseUnavailable: Error, CustomStringConvertible, Sendable {
    public let target: String
    public var reason: String = "is unreachable"

    public init(target: String, reason: String = "is unreachable") {
        self.target = target
        self.reason = reason
    }

    public var description: String { "database \(target) \(reason)" }
}
