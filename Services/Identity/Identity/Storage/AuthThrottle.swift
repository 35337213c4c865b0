import Foundation
import PostgresNIO
import RampartCore
import RampartStorage

/// Progressive lockout per account and per source address, counted atomically in PostgreSQL.
///
/// Every attempt is counted *before* the secret is checked, so parallel guesses cannot all slip
/// past the limit; a success then clears the account's counter. Unknown accounts are counted
/// exactly like known ones, so lockout reveals nothing about which accounts exist.
public struct AuthThrottle: Sendable {
    /// When a counter locks and for how long.
    public struct Rule: Sendable {
        public var threshold: Int
        public var firstLock: Duration
        public var longestLock: Duration

        public init(threshold: Int, firstLock: Duration, longestLock: Duration) {
            self.threshold = threshold
            self.firstLock = firstLock
            self.longestLock = longestLock
        }

        /// The lock after `failures` counted attempts: none below the threshold, then doubling
        /// with every further `threshold` failures, up to the longest lock.
        public func lock(after failures: Int) -> Duration? {
            guard failures >= threshold else { return nil }
            let doublings = min((failures - threshold) / threshold, 16)
            let seconds = min(firstLock.components.seconds << doublings, longestLock.components.seconds)
            return .seconds(seconds)
        }

        /// 5 failures lock an account for a minute, 10 for two, … at most an hour.
        public static let account = Rule(threshold: 5, firstLock: .seconds(60), longestLock: .seconds(3600))
        /// 30 failures lock an address for five minutes, … at most an hour.
        public static let address = Rule(threshold: 30, firstLock: .seconds(300), longestLock: .seconds(3600))
    }

    /// One counter: its key and rule.
    public struct Counter: Sendable {
        public var key: String
        public var rule: Rule

        public static func account(_ email: String) -> Counter { Counter(key: "account:\(email.lowercased())", rule: .account) }
        public static func address(_ ip: String) -> Counter { Counter(key: "ip:\(ip)", rule: .address) }
    }

    /// What counting an attempt found.
    public struct Admission: Sendable {
        /// How long the caller must wait when a counter was already locked: the secret must then
        /// not be checked at all.
        public var wait: Duration?
        /// Whether this attempt just locked a counter (an audit event).
        public var lockedNow: Bool
    }

    /// Counts one attempt on every counter (attempts during a lock are refused, not counted, so
    /// hammering a locked account does not lengthen its lock).
    public static func begin(_ counters: [Counter], tenant: TenantID, on connection: PostgresConnection, logger: Logger) async throws -> Admission {
        var wait: Duration?
        var lockedNow = false
        for counter in counters {
            let rows = try await connection.query("""
                INSERT INTO auth_throttle (tenant_id, key, failures, updated_at) VALUES (\(tenant.rawValue), \(counter.key), 1, now())
                ON CONFLICT (tenant_id, key) DO UPDATE SET updated_at = now(),
                    failures = CASE WHEN auth_throttle.locked_until > now() THEN auth_throttle.failures ELSE auth_throttle.failures + 1 END
                RETURNING failures, GREATEST(0, EXTRACT(EPOCH FROM (locked_until - now())))::float8
                """, logger: logger)
            for try await (failures, remaining) in rows.decode((Int, Double?).self) {
                if let remaining, remaining > 0 {
                    wait = max(wait ?? .zero, .milliseconds(Int64(remaining * 1000)))
                } else if let lock = counter.rule.lock(after: failures) {
                    lockedNow = true
                    try await connection.query("""
                        UPDATE auth_throttle SET locked_until = now() + make_interval(secs => \(Double(lock.components.seconds)))
                        WHERE tenant_id = \(tenant.rawValue) AND key = \(counter.key)
                        """, logger: logger)
                }
            }
        }
        return Admission(wait: wait, lockedNow: lockedNow)
    }

    /// A successful attempt: the account starts over; the address gives back the attempt it spent.
    public static func succeeded(account: Counter, address: Counter?, tenant: TenantID, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("""
            UPDATE auth_throttle SET failures = 0, locked_until = NULL, updated_at = now()
            WHERE tenant_id = \(tenant.rawValue) AND key = \(account.key)
            """, logger: logger)
        if let address {
            try await connection.query("""
                UPDATE auth_throttle SET failures = GREATEST(failures - 1, 0), updated_at = now()
                WHERE tenant_id = \(tenant.rawValue) AND key = \(address.key)
                """, logger: logger)
        }
    }
}
