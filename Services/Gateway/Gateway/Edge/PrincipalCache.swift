import Crypto
import Foundation
import Synchronization

/// Principals resolved by identity, kept briefly (≤ 30 s) and in bounded number. Keys are
/// SHA-256 digests: the raw credential is never held here.
public final class PrincipalCache: Sendable {
    /// What a cached answer is about: a credential at one tenant's host for one service.
    public struct Key: Hashable, Sendable {
        let digest: SHA256Digest

        /// The key of `credential` (tagged with its kind) at `host` for `audience`.
        public init(kind: String, credential: String, host: String, audience: String) {
            var hash = SHA256()
            for part in [kind, host, audience, credential] {
                hash.update(data: Data(part.utf8))
                hash.update(data: [0])
            }
            digest = hash.finalize()
        }
    }

    private struct Entry {
        let token: String
        let expires: ContinuousClock.Instant
    }

    private let entries = Mutex<[Key: Entry]>([:])
    private let capacity: Int
    private let timeToLive: Duration

    public init(capacity: Int, timeToLive: Duration) {
        self.capacity = capacity
        self.timeToLive = timeToLive
    }

    /// The cached principal token for `key`, if still fresh.
    public func token(for key: Key, now: ContinuousClock.Instant = .now) -> String? {
        entries.withLock { entries in
            guard let entry = entries[key] else { return nil }
            guard entry.expires > now else {
                entries[key] = nil
                return nil
            }
            return entry.token
        }
    }

    /// Keeps `token` for the cache's lifetime, or less when the token itself expires sooner.
    public func store(_ token: String, lifetime: Duration, for key: Key, now: ContinuousClock.Instant = .now) {
        let expires = now + min(timeToLive, lifetime)
        entries.withLock { entries in
            if entries.count >= capacity, entries[key] == nil {
                // Full: drop what has expired; if nothing has, drop an arbitrary eighth. Bounded memory
                // matters more than keeping every answer (a miss only costs one call to identity).
                entries = entries.filter { $0.value.expires > now }
                if entries.count >= capacity {
                    for victim in entries.keys.prefix(max(1, capacity / 8)) { entries[victim] = nil }
                }
            }
            entries[key] = Entry(token: token, expires: expires)
        }
    }

    /// How many answers are held (for tests and metrics).
    public var count: Int { entries.withLock { $0.count } }
}
