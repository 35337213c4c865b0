import Foundation
import PostgresNIO
import RampartCore

/// A ticket's messages: listed (customers see public replies only) and added (a reply moves the
/// ticket's status, the first staff reply records the first response).
struct MessageRepository: Sendable {
    let store: TicketStore
    let tickets: TicketRepository

    func list(_ caller: Caller, ticket id: UUID) async throws -> [MessageView] {
        try await store.database.withTenant(caller.tenant) { connection in
            let viewer = try await Viewer.resolve(caller, store: store, on: connection)
            _ = try await tickets.ticket(id, viewer: viewer, lock: false, on: connection)
            return try await messages(ticket: id, includeNotes: caller.isStaff, tenant: caller.tenant, on: connection)
        }
    }

    /// Adds a reply or note. Customers may only reply; a closed ticket takes nothing more (409).
    func add(_ caller: Caller, ticket id: UUID, _ input: NewMessage, requestID: String) async throws -> (MessageView, TicketView) {
        try await store.database.withTenant(caller.tenant) { connection in
            let viewer = try await Viewer.resolve(caller, store: store, on: connection)
            let ticket = try await tickets.ticket(id, viewer: viewer, lock: true, on: connection)
            try caller.requireWrite()
            if !caller.isStaff, input.kind == .note { throw TicketsError.fieldsNotAllowed(["kind"]) }
            guard ticket.status != .closed else { throw TicketsError.ticketClosed }
            let settings = try await store.settings(on: connection)
            let body = try TicketRules.body(input, redactor: settings.redactor, field: "body")
            let message = try await Self.insert(caller, ticket: id, kind: input.kind, format: input.format, body: body.stored, store: store, on: connection)
            let attached = try await AttachmentRepository.link(input.attachmentIDs, to: message.id, ticket: id, field: "attachment_ids", store: store, on: connection)
            try await tickets.search.add(body.text, ticket: id, staffOnly: input.kind == .note, tenant: caller.tenant, on: connection)

            let status = input.kind == .reply ? ticket.status.afterReply(byStaff: caller.isStaff) : ticket.status
            let firstResponse = input.kind == .reply && caller.isStaff
            try await connection.query("""
                UPDATE tickets SET status = \(status.rawValue), updated_at = now(), version = version + 1,
                    first_responded_at = CASE WHEN \(firstResponse) THEN COALESCE(first_responded_at, now()) ELSE first_responded_at END,
                    resolved_at = CASE WHEN \(status.rawValue) IN ('resolved', 'closed') THEN resolved_at ELSE NULL END
                WHERE id = \(id)
                """, logger: store.logger)
            let resource = AuditEvent.Resource(type: "ticket", id: id.uuidString.lowercased())
            try await store.audit(caller, input.kind == .note ? "ticket.note_added" : "ticket.replied", resource,
                                  changes: ["message_id": [nil, message.id.uuidString.lowercased()]], requestID: requestID, on: connection)
            if status != ticket.status {
                try await store.audit(caller, "ticket.status_changed", resource, changes: ["status": [ticket.status.rawValue, status.rawValue]],
                                      requestID: requestID, on: connection)
            }
            try await tickets.recordRedactions(caller, body.redactions, resource, requestID: requestID, on: connection)
            var result = message
            result.attachments = attached
            return (result, try await tickets.ticket(id, viewer: viewer, lock: false, on: connection))
        }
    }

    /// Writes one message, its body sealed to its row.
    static func insert(_ caller: Caller, ticket: UUID, kind: MessageKind, format: MessageFormat, body: String,
                       store: TicketStore, on connection: PostgresConnection) async throws -> MessageView {
        let id = UUIDv7.make()
        let sealed = try await store.seal(body, tenant: caller.tenant, table: "messages", column: "body", row: id)
        let author = MessageView.Author(type: caller.actor.type, id: caller.principal.subject)
        let rows = try await connection.query("""
            INSERT INTO messages (id, tenant_id, ticket_id, kind, format, body_sealed, author_type, author_id)
            VALUES (\(id), \(caller.tenant.rawValue), \(ticket), \(kind.rawValue), \(format.rawValue), \(sealed), \(author.type), \(author.id))
            RETURNING created_at
            """, logger: store.logger)
        var created = Date()
        for try await value in rows.decode(Date.self) { created = value }
        return MessageView(id: id, ticketID: ticket, kind: kind, body: body, format: format, author: author, attachments: [], createdAt: created)
    }

    private func messages(ticket: UUID, includeNotes: Bool, tenant: TenantID, on connection: PostgresConnection) async throws -> [MessageView] {
        let rows = try await connection.query("""
            SELECT m.id, m.kind, m.format, m.body_sealed, m.author_type, m.author_id, m.created_at,
                   COALESCE((SELECT json_agg(json_build_object('id', a.id, 'filename', a.filename, 'content_type', a.content_type, 'size', a.size)
                                         ORDER BY a.id)::text FROM attachments a WHERE a.message_id = m.id), '[]')
            FROM messages m
            WHERE m.ticket_id = \(ticket) AND (\(includeNotes) OR m.kind = 'reply')
            ORDER BY m.created_at, m.id
            """, logger: store.logger)
        var sealed: [(UUID, String, String, Data, String, String, Date, String)] = []
        for try await row in rows.decode((UUID, String, String, Data, String, String, Date, String).self) { sealed.append(row) }
        var result: [MessageView] = []
        for (id, kind, format, body, authorType, authorID, created, attachments) in sealed {
            result.append(MessageView(
                id: id, ticketID: ticket, kind: MessageKind(rawValue: kind) ?? .note,
                body: try await store.open(body, tenant: tenant, table: "messages", column: "body", row: id),
                format: MessageFormat(rawValue: format) ?? .text, author: .init(type: authorType, id: authorID),
                attachments: try JSONDecoder().decode([MessageView.Attachment].self, from: Data(attachments.utf8)), createdAt: created
            ))
        }
        return result
    }
}
