import Foundation
import PostgresNIO
import RampartCore
import RampartStorage
import RampartTransport

/// Tickets' part of a data-subject request: the customer's person records, the tickets they
/// requested or are copied on with their public messages and attachments (internal notes are the
/// staff's, not the customer's, and stay out), and their erasure under the tenant's policy.
struct CustomerDataStore: PersonalDataHolder {
    let store: TicketStore

    struct PublicMessage: Encodable, Sendable {
        var id: UUID
        var author: MessageView.Author
        var body: String
        var format: String
        var createdAt: Date

        enum CodingKeys: String, CodingKey {
            case id, author, body, format
            case createdAt = "created_at"
        }
    }

    struct Attachment: Encodable, Sendable {
        var id: UUID
        var messageID: UUID
        var filename: String
        var contentType: String
        var size: Int
        /// The file, base64.
        var content: Data

        enum CodingKeys: String, CodingKey {
            case id, filename, size, content
            case messageID = "message_id"
            case contentType = "content_type"
        }
    }

    struct Ticket: Encodable, Sendable {
        var id: UUID
        var subject: String
        var status: String
        var priority: String
        /// `requester` or `cc`.
        var role: String
        var createdAt: Date
        var updatedAt: Date
        var messages: [PublicMessage]
        var attachments: [Attachment]

        enum CodingKeys: String, CodingKey {
            case id, subject, status, priority, role, messages, attachments
            case createdAt = "created_at"
            case updatedAt = "updated_at"
        }
    }

    struct Export: Encodable, Sendable {
        var people: [Person]
        var tickets: [Ticket]
    }

    func find(_ subject: DataSubject, tenant: TenantID) async throws -> DataSubject {
        let people = try await store.database.withTenant(tenant) { connection in try await self.people(subject, on: connection) }
        return DataSubject(ids: Set(people.map(\.id) + people.compactMap(\.userID)), emails: Set(people.compactMap(\.email)))
    }

    func export(_ subject: DataSubject, tenant: TenantID) async throws -> Export {
        try await store.database.withTenant(tenant) { connection in
            let people = try await self.people(subject, on: connection)
            let persons = people.map(\.id)
            var tickets: [Ticket] = []
            let rows = try await connection.query("""
                SELECT id, subject_sealed, status, priority, requester_id = ANY(\(persons)), created_at, updated_at FROM tickets
                WHERE requester_id = ANY(\(persons)) OR cc_ids && \(persons) ORDER BY created_at, id
                """, logger: store.logger)
            var sealed: [(UUID, Data, String, String, Bool, Date, Date)] = []
            for try await row in rows.decode((UUID, Data, String, String, Bool, Date, Date).self) { sealed.append(row) }
            for (id, subjectSealed, status, priority, requested, created, updated) in sealed {
                tickets.append(Ticket(
                    id: id, subject: try await store.open(subjectSealed, tenant: tenant, table: "tickets", column: "subject", row: id),
                    status: status, priority: priority, role: requested ? "requester" : "cc", createdAt: created, updatedAt: updated,
                    messages: try await messages(ticket: id, tenant: tenant, on: connection),
                    attachments: try await attachments(ticket: id, tenant: tenant, on: connection)
                ))
            }
            return Export(people: people, tickets: tickets)
        }
    }

    func erase(_ subject: DataSubject, tenant: TenantID) async throws -> DataSubjectErasure {
        let policy = try await store.database.withTenant(tenant) { connection in try await store.settings(on: connection).erasureTicketContent }
        let erased = try await PersonErasure.run(subject, tenant: tenant, deleteTickets: policy == .delete, database: store.database)
        return DataSubjectErasure(service: ServiceName.tickets.rawValue, erased: erased, ticketContent: policy.rawValue)
    }

    /// The people `subject` names: by person id, by their portal user's id, or by address.
    private func people(_ subject: DataSubject, on connection: PostgresConnection) async throws -> [Person] {
        let ids = Array(subject.ids)
        let rows = try await connection.query("""
            SELECT \(unescaped: Person.columns) FROM people
            WHERE id = ANY(\(ids)) OR user_id = ANY(\(ids)) OR lower(email) = ANY(\(subject.emails.sorted())) ORDER BY created_at, id
            """, logger: store.logger)
        return try await collect(rows) { try Person($0) }
    }

    private func messages(ticket: UUID, tenant: TenantID, on connection: PostgresConnection) async throws -> [PublicMessage] {
        let rows = try await connection.query("""
            SELECT id, body_sealed, format, author_type, author_id, created_at FROM messages
            WHERE ticket_id = \(ticket) AND kind = 'reply' ORDER BY created_at, id
            """, logger: store.logger)
        var sealed: [(UUID, Data, String, String, String, Date)] = []
        for try await row in rows.decode((UUID, Data, String, String, String, Date).self) { sealed.append(row) }
        var messages: [PublicMessage] = []
        for (id, body, format, authorType, authorID, created) in sealed {
            messages.append(PublicMessage(id: id, author: .init(type: authorType, id: authorID),
                                          body: try await store.open(body, tenant: tenant, table: "messages", column: "body", row: id),
                                          format: format, createdAt: created))
        }
        return messages
    }

    /// Attachments of the ticket's public replies.
    private func attachments(ticket: UUID, tenant: TenantID, on connection: PostgresConnection) async throws -> [Attachment] {
        let rows = try await connection.query("""
            SELECT a.id, a.message_id, a.filename, a.content_type, a.size, a.content_sealed FROM attachments a
            JOIN messages m ON m.id = a.message_id
            WHERE a.ticket_id = \(ticket) AND m.kind = 'reply' ORDER BY a.created_at, a.id
            """, logger: store.logger)
        var sealed: [(UUID, UUID, String, String, Int, Data)] = []
        for try await row in rows.decode((UUID, UUID, String, String, Int, Data).self) { sealed.append(row) }
        var attachments: [Attachment] = []
        for (id, message, filename, contentType, size, content) in sealed {
            let opened = try await store.keyring.open(content, tenant: tenant, context: .init(table: "attachments", column: "content", rowID: id.uuidString.lowercased()))
            attachments.append(Attachment(id: id, messageID: message, filename: filename, contentType: contentType, size: size, content: opened))
        }
        return attachments
    }
}
