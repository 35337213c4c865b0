import PostgresNIO

extension TestDatabase {
    /// Waits until at least `count` sessions of this test database wait for a lock (polled as the
    /// superuser), at most `timeout`; answers whether they did.
    func waitForLockWaiters(_ count: Int, timeout: Duration = .seconds(10)) async throws -> Bool {
        try await with(superuserHere) { client in
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                let waiting = try await client.values("""
                    SELECT count(*)::integer FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'
                    """, as: Int.self)
                if (waiting.first ?? 0) >= count { return true }
                try await Task.sleep(for: .milliseconds(20))
            }
            return false
        }
    }

    /// Makes requests that would race meet deterministically: a superuser transaction takes the
    /// row locks `lock` takes (its tables in `schema`, or schema-qualified), `racing` runs, and once `waiters` sessions
    /// wait for a lock (the raced requests have all read what they read and reached those rows,
    /// at most 10 s) `then` runs in the holding transaction, which commits. Answers what
    /// `racing` answered and whether the waiters came.
    func whileLocked<R: Sendable>(_ lock: String, schema: String? = nil, waiters: Int,
                                  then: @escaping @Sendable (PostgresConnection) async throws -> Void = { _ in },
                                  racing: @escaping @Sendable () async throws -> R) async throws -> (R, met: Bool) {
        let (locked, signal) = AsyncStream<Void>.makeStream()
        async let holder: Bool = with(superuserHere) { client in
            // Whatever happens, the racing side is let go (not left waiting for the lock forever).
            defer { signal.finish() }
            return try await client.withConnection { connection in
                try await connection.query("BEGIN", logger: Self.logger)
                if let schema { try await connection.query(PostgresQuery(unsafeSQL: "SET LOCAL search_path TO \(schema)"), logger: Self.logger) }
                try await connection.query(PostgresQuery(unsafeSQL: lock), logger: Self.logger)
                signal.yield()
                let met = try await waitForLockWaiters(waiters)
                try await then(connection)
                try await connection.query("COMMIT", logger: Self.logger)
                return met
            }
        }
        var iterator = locked.makeAsyncIterator()
        _ = await iterator.next()
        let result = try await racing()
        return (result, try await holder)
    }
}
