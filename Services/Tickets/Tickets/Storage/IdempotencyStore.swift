import Crypto
import Foundation
import PostgresNIO
import RampartCore
import RampartStorage
import RampartSecurity

/// `Idempotency-Key` on creates: the first request with a key runs and its answer is kept
/// (sealed, 24 hours); the same key with the same request gets that answer again, with another
/// request 422 `idempotency_key_reused`, while the first is still running 409
/// `idempotency_key_in_progress`. Keys are per principal, so callers never see each other's answers.
/// A request that holds a key longer than ``abandonAfter`` is presumed dead and another may take
/// the key over; each request's claim is its own, so one that was only slow neither stores its
/// answer over its successor's nor frees the key its successor holds.
struct IdempotencyStore: Sendable {
    let store: TicketStore

    /// An answer as it is kept and replayed.
    struct Answer: Codable, Sendable {
        var status: Int
        var etag: String?
        var body: Data
    }

    /// How long a key is remembered, and how long a request may hold a key before it is presumed dead.
    static let retention: Duration = .seconds(24 * 3600)
    static let abandonAfter: Duration = .seconds(60)

    /// A key: 1–255 visible ASCII characters.
    static func validKey(_ key: String) -> Bool {
        (1...255).contains(key.utf8.count) && key.utf8.allSatisfy { (0x21...0x7E).contains($0) }
    }

    /// Runs `create` unless `key` already answered this same request; returns the answer and
    /// whether it is a replay.
    func run(_ caller: Caller, key: String?, fingerprint: [UInt8], _ create: () async throws -> Answer) async throws -> (Answer, replayed: Bool) {
        guard let key else { return (try await create(), false) }
        guard Self.validKey(key) else {
            throw TicketsError.invalidInput([.init(field: "Idempotency-Key", message: "1 to 255 visible ASCII characters.")])
        }
        let hash = Data(SHA256.hash(data: fingerprint))
        let principal = caller.principal.subject
        let tenant = caller.tenant
        let claim = UUID()
        let existing: (Data, Int?, Data?)? = try await store.database.withTenant(tenant) { connection in
            // A key older than the retention, or held by a request that died, is taken over.
            let claimed = try await connection.query("""
                INSERT INTO idempotency_keys (tenant_id, principal, key, request_hash, claim)
                VALUES (\(tenant.rawValue), \(principal), \(key), \(hash), \(claim))
                ON CONFLICT (tenant_id, principal, key) DO UPDATE SET request_hash = EXCLUDED.request_hash, status = NULL,
                    response_sealed = NULL, created_at = now(), claim = EXCLUDED.claim
                WHERE idempotency_keys.created_at < now() - make_interval(secs => \(Int(Self.retention.components.seconds))::integer)
                   OR (idempotency_keys.status IS NULL AND idempotency_keys.created_at < now() - make_interval(secs => \(Int(Self.abandonAfter.components.seconds))::integer))
                RETURNING 1
                """, logger: store.logger)
            if try await claimed.any() { return nil }
            let rows = try await connection.query("""
                SELECT request_hash, status, response_sealed FROM idempotency_keys WHERE principal = \(principal) AND key = \(key)
                """, logger: store.logger)
            var found: (Data, Int?, Data?)?
            for try await row in rows.decode((Data, Int?, Data?).self) { found = row }
            return found
        }
        if let existing {
            let (storedHash, status, sealed) = existing
            guard storedHash == hash else { throw TicketsError.idempotencyKeyReused }
            guard status != nil, let sealed else { throw TicketsError.idempotencyKeyInProgress }
            let json = try await store.keyring.open(sealed, tenant: tenant, context: sealContext(principal: principal, key: key))
            return (try JSONDecoder().decode(Answer.self, from: json), true)
        }
        let answer: Answer
        do {
            answer = try await create()
        } catch {
            try? await store.database.withTenant(tenant) { connection in
                _ = try await connection.query("""
                    DELETE FROM idempotency_keys WHERE principal = \(principal) AND key = \(key) AND claim = \(claim)
                    """, logger: store.logger)
            }
            throw error
        }
        let sealed = try await store.keyring.seal(try JSONEncoder().encode(answer), tenant: tenant, context: sealContext(principal: principal, key: key))
        try await store.database.withTenant(tenant) { connection in
            _ = try await connection.query("""
                UPDATE idempotency_keys SET status = \(answer.status), response_sealed = \(sealed)
                WHERE principal = \(principal) AND key = \(key) AND claim = \(claim)
                """, logger: store.logger)
        }
        return (answer, false)
    }

    private func sealContext(principal: String, key: String) -> SealContext {
        SealContext(table: "idempotency_keys", column: "response", rowID: "\(principal)\u{0}\(key)")
    }
}
