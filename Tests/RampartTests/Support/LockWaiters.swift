import PostgresNIO

extension TestDatabase {
    /// Waits until at least `count` sessions of this test database wait for a lock (polled as the
    /// superuser), at most `timeout`; answers whether they did. Tests that hold a row lock use it
    /// to know that the requests they race have all reached that row.
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
}
