import Crypto
import Foundation
import Synchronization

/// Principals resolved by identity, kept briefly (≤ 30 s) and in bounded number. Keys are
/// SHA-256 digests: the raw credential is never held here.
public final class PrincipalCache: Sendable {
    /// Which credential at which tenant's host an entry is about; it holds one principal per service.
    public struct Key: Hashable, Sendable {
        let digest: SHA256Digest

        /// The key of `credential` (tagged with its kind) presented at `host`.
        public init(kind: String, credential: String, host: String) {
            var hash = SHA256()
            for part in [kind, host, credential] {
                hash.update(data: Data(part.utf8))
                hash.update(data: [0])
            }
            digest = hash.finalize()
        }
    }

    private struct Entry {
        let token: String
        /// For sessions: the anti-CSRF token identity derived from the session.
        let csrf: String?
        let expires: ContinuousClock.Instant
    }

    private let entries = Mutex<[Key: [String: Entry]]>([:])
    private let capacity: Int
    private let timeToLive: Duration

    public init(capacity: Int, timeToLive: Duration) {
        self.capacity = capacity
        self.timeToLive = timeToLive
    }

    /// The cached principal token for `key` addressed to `audience`, if still fresh.
    public func token(for key: Key, audience: String, now: ContinuousClock.Instant = .now) -> String? {
        entries.withLock { entries in
            guard let entry = entries[key]?[audience] else { return nil }
            guard entry.expires > now else {
                entries[key]?[audience] = nil
                return nil
            }
            return entry.token
        }
    }

    /// The session's anti-CSRF token cached with `key`'s principal for `audience`, if fresh.
    public func csrfToken(for key: Key, audience: String, now: ContinuousClock.Instant = .now) -> String? {
        entries.withLock { entries in
            guard let entry = entries[key]?[audience], entry.expires > now else { return nil }
            return entry.csrf
        }
    }

    /// Keeps `token` (and a session's `csrf` token) for the cache's lifetime, or less when the
    /// token itself expires sooner.
    public func store(_ token: String, csrf: String? = nil, lifetime: Duration, for key: Key, audience: String, now: ContinuousClock.Instant = .now) {
        let expires = now + min(timeToLive, lifetime)
        entries.withLock { entries in
            if entries.count >= capacity, entries[key] == nil {
                // Full: drop what has expired; if nothing has, drop an arbitrary eighth. Bounded memory
                // matters more than keeping every answer (a miss only costs one call to identity).
                entries = entries.filter { $0.value.values.contains { $0.expires > now } }
                if entries.count >= capacity {
                    for victim in entries.keys.prefix(max(1, capacity / 8)) { entries[victim] = nil }
                }
            }
            entries[key, default: [:]][audience] = Entry(token: token, csrf: csrf, expires: expires)
        }
    }

    /// Forgets every principal of `key` (the session behind it was ended or replaced).
    public func forget(_ key: Key) {
        _ = entries.withLock { $0.removeValue(forKey: key) }
    }

    /// How many credentials are held (for tests and metrics).
    public var count: Int { entries.withLock { $0.count } }
}
