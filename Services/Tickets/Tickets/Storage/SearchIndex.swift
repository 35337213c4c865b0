import Crypto
import Foundation
import NIOCore
import PostgresNIO
import RampartCore

/// The keyed search index: each normalized word of a subject or message is stored as the first
/// 16 bytes of HMAC-SHA256 under a key derived from the tenant's data key, so the index holds no
/// plaintext, another tenant's tokens never match, and destroying the tenant key makes it useless.
struct SearchIndex: Sendable {
    let store: TicketStore

    static let purpose = "tickets.search.v1"
    /// At most this many words are matched per query (all must occur).
    static let maximumQueryWords = 10

    /// The tokens of `words` for `tenant`.
    func tokens(_ words: [String], tenant: TenantID) async throws -> [ByteBuffer] {
        let key = try await key(for: tenant)
        return words.map { Self.token($0, key: key) }
    }

    /// The tenant's search key, derived from its data key.
    func key(for tenant: TenantID) async throws -> SymmetricKey {
        try await store.keyring.derivedKey(for: tenant, purpose: Self.purpose)
    }

    /// One word's token under a tenant's search key.
    static func token(_ word: String, key: SymmetricKey) -> ByteBuffer {
        ByteBuffer(bytes: HMAC<SHA256>.authenticationCode(for: Data(word.utf8), using: key).prefix(16))
    }

    /// Indexes `text` for `ticket`; `staffOnly` tokens (from notes) match for staff only.
    func add(_ text: String, ticket: UUID, staffOnly: Bool, tenant: TenantID, on connection: PostgresConnection) async throws {
        let words = SearchTerms.words(in: text)
        guard !words.isEmpty else { return }
        let tokens = try await tokens(words, tenant: tenant)
        try await connection.query("""
            INSERT INTO search_tokens (tenant_id, token, ticket_id, internal)
            SELECT \(tenant.rawValue), unnest(\(tokens)::bytea[]), \(ticket), \(staffOnly)
            ON CONFLICT DO NOTHING
            """, logger: store.logger)
    }

    /// Drops a ticket's tokens so they can be rebuilt (after its subject changed).
    func clear(ticket: UUID, on connection: PostgresConnection) async throws {
        try await connection.query("DELETE FROM search_tokens WHERE ticket_id = \(ticket)", logger: store.logger)
    }
}
