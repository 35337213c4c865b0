import Foundation
import PostgresNIO
import RampartCore
import RampartSecurity

/// A stored attachment's description (the content is sealed in the same row).
struct AttachmentRecord: Encodable, Sendable {
    var id: UUID
    var ticketID: UUID
    var messageID: UUID?
    var filename: String
    var contentType: String
    var size: Int
    var createdAt: Date

    enum CodingKeys: String, CodingKey {
        case id, filename, size
        case ticketID = "ticket_id"
        case messageID = "message_id"
        case contentType = "content_type"
        case createdAt = "created_at"
    }
}

/// Attachments: uploaded to a ticket the caller may write to, sealed in PostgreSQL, linked to a
/// message by the reply that names them, downloaded by whoever may see that message.
struct AttachmentRepository: Sendable {
    let store: TicketStore
    let tickets: TicketRepository

    /// Stores `content` (already type-checked) for `ticket`, within the tenant's size limit.
    func upload(_ caller: Caller, ticket: UUID, filename: String, content: [UInt8], requestID: String) async throws -> AttachmentRecord {
        try await store.database.withTenant(caller.tenant) { connection in
            let viewer = try await Viewer.resolve(caller, store: store, on: connection)
            let current = try await tickets.ticket(ticket, viewer: viewer, lock: false, on: connection)
            try caller.requireWrite()
            guard current.status != .closed else { throw TicketsError.ticketClosed }
            let settings = try await store.settings(on: connection)
            guard content.count <= settings.attachmentMaxBytes else { throw TicketsError.attachmentTooLarge(limit: settings.attachmentMaxBytes) }
            guard let type = AttachmentType.sniff(content) else { throw TicketsError.attachmentTypeNotAllowed }
            let id = UUIDv7.make()
            let sealed = try await store.keyring.seal(Data(content), tenant: caller.tenant, context: .init(table: "attachments", column: "content", rowID: id.uuidString.lowercased()))
            let name = Self.safeFilename(filename, type: type)
            let rows = try await connection.query("""
                INSERT INTO attachments (id, tenant_id, ticket_id, filename, content_type, size, content_sealed, uploaded_by)
                VALUES (\(id), \(caller.tenant.rawValue), \(ticket), \(name), \(type.rawValue), \(content.count), \(sealed), \(caller.principal.subject))
                RETURNING created_at
                """, logger: store.logger)
            var created = Date()
            for try await value in rows.decode(Date.self) { created = value }
            try await store.audit(caller, "attachment.uploaded", .init(type: "ticket", id: ticket.uuidString.lowercased()),
                                  changes: ["attachment_id": [nil, id.uuidString.lowercased()], "content_type": [nil, type.rawValue]],
                                  requestID: requestID, on: connection)
            return AttachmentRecord(id: id, ticketID: ticket, messageID: nil, filename: name, contentType: type.rawValue, size: content.count, createdAt: created)
        }
    }

    /// The attachment and its content, if the caller may see it: its ticket must be reachable;
    /// an attachment of a note is staff-only; one not yet sent only its uploader or staff see.
    func download(_ caller: Caller, id: UUID) async throws -> (AttachmentRecord, Data) {
        try await store.database.withTenant(caller.tenant) { connection in
            let viewer = try await Viewer.resolve(caller, store: store, on: connection)
            let rows = try await connection.query("""
                SELECT a.ticket_id, a.message_id, a.filename, a.content_type, a.size, a.created_at, a.content_sealed, a.uploaded_by, m.kind
                FROM attachments a LEFT JOIN messages m ON m.id = a.message_id WHERE a.id = \(id)
                """, logger: store.logger)
            var found: (UUID, UUID?, String, String, Int, Date, Data, String, String?)?
            for try await row in rows.decode((UUID, UUID?, String, String, Int, Date, Data, String, String?).self) { found = row }
            guard let found else { throw TicketsError.notFound(resource: "attachment") }
            let (ticket, message, filename, type, size, created, sealed, uploader, kind) = found
            do {
                _ = try await tickets.ticket(ticket, viewer: viewer, lock: false, on: connection)
            } catch TicketsError.notFound {
                throw TicketsError.notFound(resource: "attachment")
            }
            let visible = caller.isStaff || (message == nil ? uploader == caller.principal.subject : kind == MessageKind.reply.rawValue)
            guard visible else { throw TicketsError.notFound(resource: "attachment") }
            let content = try await store.keyring.open(sealed, tenant: caller.tenant, context: .init(table: "attachments", column: "content", rowID: id.uuidString.lowercased()))
            return (AttachmentRecord(id: id, ticketID: ticket, messageID: message, filename: filename, contentType: type, size: size, createdAt: created), content)
        }
    }

    /// A filename safe to store and send back: no path, no control or quote characters, at most
    /// 120 characters, ending in the extension of the sniffed type.
    static func safeFilename(_ raw: String, type: AttachmentType) -> String {
        let base = raw.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? ""
        let cleaned = String(base.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F && !"\"';<>`".unicodeScalars.contains($0) }.map(Character.init))
            .trimmingCharacters(in: .whitespaces)
        var stem = cleaned
        if let dot = cleaned.lastIndex(of: ".") { stem = String(cleaned[..<dot]) }
        stem = String(stem.prefix(100))
        if stem.isEmpty || stem.allSatisfy({ $0 == "." }) { stem = "attachment" }
        return "\(stem).\(type.fileExtension)"
    }
}
