import Crypto
import Foundation
import NIOCore
import PostgresNIO
import RampartCore
import RampartSecurity
import RampartStorage

/// Bulk loading of ready-made tickets for benchmarks (`rampart-bench tickets seed`).
///
/// Every value is sealed and indexed as the API does it — subjects and bodies with the tenant's
/// data key, bound to their table, column and row (`TicketStore.seal`), and every word as the
/// tenant's keyed search token (`SearchIndex`) — so what lies in the database is what production
/// writes. Only the write differs: a batch goes in as one multi-row INSERT per table, in one
/// transaction of the tenant (row-level security checks every row), instead of one request per
/// ticket. It writes no audit events (seeded tickets are nobody's action), takes plain text only
/// (no HTML to sanitize, no card numbers to mask), and no requester, department or assignee.
public struct TicketSeeder: Sendable {
    /// A ticket to write; its first message is the one it was opened with.
    public struct Ticket: Sendable {
        public var subject: String
        public var status: TicketStatus
        public var priority: TicketPriority
        public var messages: [Message]

        public init(subject: String, status: TicketStatus, priority: TicketPriority, messages: [Message]) {
            self.subject = subject
            self.status = status
            self.priority = priority
            self.messages = messages
        }
    }

    /// A plain-text message; `author` is a principal subject (`user:<uuid>`), `authorType` its kind.
    public struct Message: Sendable {
        public var body: String
        public var kind: MessageKind
        public var authorType: String
        public var author: String
        public var createdAt: Date

        public init(body: String, kind: MessageKind, authorType: String, author: String, createdAt: Date) {
            self.body = body
            self.kind = kind
            self.authorType = authorType
            self.author = author
            self.createdAt = createdAt
        }
    }

    let store: TicketStore
    let search: SearchIndex

    public init(database: Database, keyring: TenantKeyring, region: Region) {
        store = TicketStore(database: database, keyring: keyring, region: region)
        search = SearchIndex(store: store)
    }

    /// Writes `tickets` of `tenant` in one transaction and returns their ids (time-ordered by
    /// their first message, like the API's). Each needs at least one message.
    @discardableResult
    public func write(_ tickets: [Ticket], tenant: TenantID) async throws -> [UUID] {
        guard tickets.allSatisfy({ !$0.messages.isEmpty }) else {
            throw TicketsError.invalidInput([.init(field: "messages", message: "Every ticket needs its first message.")])
        }
        let key = try await search.key(for: tenant)
        var rows = Rows()
        for ticket in tickets {
            let opening = ticket.messages[0]
            let id = UUIDv7.make(at: opening.createdAt)
            rows.ticketIDs.append(id)
            rows.subjects.append(ByteBuffer(bytes: try await store.seal(ticket.subject, tenant: tenant, table: "tickets", column: "subject", row: id)))
            rows.statuses.append(ticket.status.rawValue)
            rows.priorities.append(ticket.priority.rawValue)
            rows.creators.append(opening.author)
            rows.created.append(opening.createdAt)
            rows.updated.append(ticket.messages.map(\.createdAt).max() ?? opening.createdAt)
            var tokens: Set<Token> = []
            for word in SearchTerms.words(in: ticket.subject) { tokens.insert(Token(token: SearchIndex.token(word, key: key), staffOnly: false)) }
            for message in ticket.messages {
                let messageID = UUIDv7.make(at: message.createdAt)
                rows.messageIDs.append(messageID)
                rows.messageTickets.append(id)
                rows.kinds.append(message.kind.rawValue)
                rows.bodies.append(ByteBuffer(bytes: try await store.seal(message.body, tenant: tenant, table: "messages", column: "body", row: messageID)))
                rows.authorTypes.append(message.authorType)
                rows.authors.append(message.author)
                rows.messageCreated.append(message.createdAt)
                for word in SearchTerms.words(in: message.body) {
                    tokens.insert(Token(token: SearchIndex.token(word, key: key), staffOnly: message.kind == .note))
                }
            }
            for token in tokens {
                rows.tokens.append(token.token)
                rows.tokenTickets.append(id)
                rows.tokenStaffOnly.append(token.staffOnly)
            }
        }
        try await store.database.withTenant(tenant) { connection in
            try await connection.query("""
                INSERT INTO tickets (id, tenant_id, subject_sealed, status, priority, created_by, created_at, updated_at)
                SELECT id, \(tenant.rawValue), subject, status, priority, created_by, created_at, updated_at
                FROM unnest(\(rows.ticketIDs)::uuid[], \(rows.subjects)::bytea[], \(rows.statuses)::text[], \(rows.priorities)::text[],
                            \(rows.creators)::text[], \(rows.created)::timestamptz[], \(rows.updated)::timestamptz[])
                     AS t (id, subject, status, priority, created_by, created_at, updated_at)
                """, logger: store.logger)
            try await connection.query("""
                INSERT INTO messages (id, tenant_id, ticket_id, kind, format, body_sealed, author_type, author_id, created_at)
                SELECT id, \(tenant.rawValue), ticket_id, kind, 'text', body, author_type, author_id, created_at
                FROM unnest(\(rows.messageIDs)::uuid[], \(rows.messageTickets)::uuid[], \(rows.kinds)::text[], \(rows.bodies)::bytea[],
                            \(rows.authorTypes)::text[], \(rows.authors)::text[], \(rows.messageCreated)::timestamptz[])
                     AS m (id, ticket_id, kind, body, author_type, author_id, created_at)
                """, logger: store.logger)
            try await connection.query("""
                INSERT INTO search_tokens (tenant_id, token, ticket_id, internal)
                SELECT \(tenant.rawValue), token, ticket_id, internal
                FROM unnest(\(rows.tokens)::bytea[], \(rows.tokenTickets)::uuid[], \(rows.tokenStaffOnly)::boolean[]) AS s (token, ticket_id, internal)
                """, logger: store.logger)
        }
        return rows.ticketIDs
    }

    /// One search token of a ticket, once per visibility.
    private struct Token: Hashable {
        var token: ByteBuffer
        var staffOnly: Bool
    }

    /// The columns of one batch, as the arrays the INSERTs unnest.
    private struct Rows {
        var ticketIDs: [UUID] = [], subjects: [ByteBuffer] = [], statuses: [String] = [], priorities: [String] = []
        var creators: [String] = [], created: [Date] = [], updated: [Date] = []
        var messageIDs: [UUID] = [], messageTickets: [UUID] = [], kinds: [String] = [], bodies: [ByteBuffer] = []
        var authorTypes: [String] = [], authors: [String] = [], messageCreated: [Date] = []
        var tokens: [ByteBuffer] = [], tokenTickets: [UUID] = [], tokenStaffOnly: [Bool] = []
    }
}
