import Synchronization

/// Counts requests per key with the generic cell rate algorithm (GCRA): one stored instant per key,
/// the key's theoretical arrival time. Memory is bounded: keys live in sharded tables, each behind
/// its own `Mutex`; a key whose arrival time has passed carries no information and is dropped when
/// a table fills, and a table still full after that evicts the keys closest to expiring.
public final class GCRALimiter: Sendable {
    /// One table of keys and their theoretical arrival times, behind its own lock.
    final class Shard: Sendable {
        let arrivals = Mutex<[RateLimitKey: ContinuousClock.Instant]>([:])
    }

    private let shards: [Shard]
    private let capacityPerShard: Int

    /// A limiter keeping at most about `maximumKeys` keys, spread over `shardCount` tables.
    public init(maximumKeys: Int = 200_000, shardCount: Int = 16) {
        let shardCount = max(1, shardCount)
        self.shards = (0..<shardCount).map { _ in Shard() }
        self.capacityPerShard = max(8, maximumKeys / shardCount)
    }

    /// Counts one request for `key` against `limit` at `now` if it fits, and says so.
    public func check(key: RateLimitKey, limit: RateLimit, name: String? = nil, now: ContinuousClock.Instant) -> RateLimitDecision {
        let shard = shards[Int(UInt(bitPattern: key.hashValue) % UInt(shards.count))]
        return shard.arrivals.withLock { arrivals in
            let stored = arrivals[key]
            let arrival = max(stored ?? now, now)
            let next = arrival + limit.emissionInterval
            // The request fits if, counting it, the arrival time stays within the burst capacity.
            let earliest = next - limit.capacity
            if now < earliest {
                return RateLimitDecision(
                    allowed: false, limitName: name ?? key.limit, limit: limit.requests, remaining: 0,
                    resetAfter: arrival - now, retryAfter: earliest - now)
            }
            if stored == nil, arrivals.count >= capacityPerShard {
                Self.makeRoom(in: &arrivals, now: now)
            }
            arrivals[key] = next
            let remaining = Int((limit.capacity - (next - now)) / limit.emissionInterval)
            return RateLimitDecision(
                allowed: true, limitName: name ?? key.limit, limit: limit.requests, remaining: remaining,
                resetAfter: next - now, retryAfter: nil)
        }
    }

    /// Gives back one request counted for `key`: its arrival time moves back by one interval (a
    /// key whose arrival time is then past holds nothing and goes).
    public func refund(key: RateLimitKey, limit: RateLimit, now: ContinuousClock.Instant) {
        let shard = shards[Int(UInt(bitPattern: key.hashValue) % UInt(shards.count))]
        shard.arrivals.withLock { arrivals in
            guard let stored = arrivals[key] else { return }
            let earlier = stored - limit.emissionInterval
            if earlier <= now { arrivals.removeValue(forKey: key) } else { arrivals[key] = earlier }
        }
    }

    /// Drops every key whose arrival time has passed (they would start afresh anyway).
    public func removeExpired(now: ContinuousClock.Instant) {
        for shard in shards {
            shard.arrivals.withLock { arrivals in arrivals = arrivals.filter { $0.value > now } }
        }
    }

    /// Keys held right now, over all tables.
    public var keyCount: Int {
        shards.reduce(0) { total, shard in total + shard.arrivals.withLock { $0.count } }
    }

    /// Frees room in a full table: expired keys first, then the eighth of keys closest to expiring.
    private static func makeRoom(in arrivals: inout [RateLimitKey: ContinuousClock.Instant], now: ContinuousClock.Instant) {
        let before = arrivals.count
        arrivals = arrivals.filter { $0.value > now }
        guard arrivals.count * 8 > before * 7 else { return }
        let evict = max(1, arrivals.count / 8)
        let oldest = arrivals.sorted { $0.value < $1.value }.prefix(evict)
        for (key, _) in oldest { arrivals.removeValue(forKey: key) }
    }
}
