import Logging
import PostgresNIO

/// A named lock held until the caller's transaction ends (PostgreSQL's transaction-level advisory
/// lock, keyed by a 64-bit hash of the name): transactions that take the same name run their
/// read-check-write one after another. Taking it again in the same transaction succeeds at once.
public enum TransactionLock {
    public static func take(_ name: String, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("SELECT pg_advisory_xact_lock(hashtextextended(\(name), 0))", logger: logger)
    }
}
