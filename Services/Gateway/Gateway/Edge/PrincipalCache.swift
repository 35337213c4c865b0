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

    /// One answer of identity's for one service.
    public struct Answer: Sendable, Equatable {
        /// The principal token addressed to the service.
        public let token: String
        /// For sessions: the anti-CSRF token identity derived from the session.
        public let csrf: String?
        /// Whom the credential stands for within its tenant (tenant id and subject), for the
        /// rate limits keyed by principal; nil when identity did not say.
        public let principal: String?

        public init(token: String, csrf: String? = nil, principal: String? = nil) {
            self.token = token
            self.csrf = csrf
            self.principal = principal
        }
    }

    private struct Entry {
        let answer: Answer
        let expires: ContinuousClock.Instant
    }

    /// The answers, and when each credential was last forgotten: an answer identity gave to a
    /// question asked before that (in flight while the session ended) is not kept.
    private struct State {
        var entries: [Key: [String: Entry]] = [:]
        var forgotten: [Key: ContinuousClock.Instant] = [:]
    }

    private let state = Mutex(State())
    private let capacity: Int
    private let timeToLive: Duration

    public init(capacity: Int, timeToLive: Duration) {
        self.capacity = capacity
        self.timeToLive = timeToLive
    }

    /// The cached answer for `key` addressed to `audience`, if still fresh.
    public func answer(for key: Key, audience: String, now: ContinuousClock.Instant = .now) -> Answer? {
        state.withLock { state in
            guard let entry = state.entries[key]?[audience] else { return nil }
            guard entry.expires > now else {
                state.entries[key]?[audience] = nil
                return nil
            }
            return entry.answer
        }
    }

    /// Keeps `answer` for the cache's lifetime, or less when its token expires sooner (`lifetime`)
    /// — unless `key` was forgotten since identity was asked (`askedAt`): that answer may
    /// describe a session that has ended since.
    public func store(_ answer: Answer, lifetime: Duration, for key: Key, audience: String,
                      askedAt: ContinuousClock.Instant, now: ContinuousClock.Instant = .now) {
        let expires = now + min(timeToLive, lifetime)
        state.withLock { state in
            if let forgotten = state.forgotten[key], forgotten >= askedAt { return }
            if state.entries.count >= capacity, state.entries[key] == nil {
                // Full: drop what has expired; if nothing has, drop an arbitrary eighth. Bounded memory
                // matters more than keeping every answer (a miss only costs one call to identity).
                state.entries = state.entries.filter { $0.value.values.contains { $0.expires > now } }
                if state.entries.count >= capacity {
                    for victim in state.entries.keys.prefix(max(1, capacity / 8)) { state.entries[victim] = nil }
                }
            }
            state.entries[key, default: [:]][audience] = Entry(answer: answer, expires: expires)
        }
    }

    /// How long a forgotten credential is remembered as such: longer than any question to
    /// identity takes (an answer to an older one is not kept).
    static let forgettingLasts: Duration = .seconds(120)

    /// Forgets every principal of `key` (the session behind it was ended or replaced), and keeps
    /// answers to questions asked before now from being stored.
    public func forget(_ key: Key, now: ContinuousClock.Instant = .now) {
        state.withLock { state in
            state.entries[key] = nil
            if state.forgotten.count >= capacity {
                state.forgotten = state.forgotten.filter { $0.value > now - Self.forgettingLasts }
                if state.forgotten.count >= capacity {
                    // Still full: the oldest go, never one forgotten just now.
                    let oldest = state.forgotten.sorted { $0.value < $1.value }.prefix(max(1, capacity / 8))
                    for (victim, _) in oldest { state.forgotten[victim] = nil }
                }
            }
            state.forgotten[key] = now
        }
    }

    /// How many credentials are held (for tests and metrics).
    public var count: Int { state.withLock { $0.entries.count } }
}
