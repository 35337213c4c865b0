import Foundation
import PostgresNIO
import RampartCore
import RampartSecurity
import RampartStorage

/// A stored attachment's description (the content is sealed in the same row).
struct AttachmentRecord: Encodable, Sendable {
    var id: UUID
    /// Nil until the ticket that names it exists (an upload for a ticket's first message).
    var ticketID: UUID?
    var messageID: UUID?
    var filename: String
    var contentType: String
    var size: Int
    var createdAt: Date

    /// When an unsent upload stops being usable and is swept away; nil once sent.
    var expiresAt: Date? { messageID == nil ? createdAt.addingTimeInterval(AttachmentRepository.unsentLifetime) : nil }

    enum CodingKeys: String, CodingKey {
        case id, filename, size
        case ticketID = "ticket_id"
        case messageID = "message_id"
        case contentType = "content_type"
        case createdAt = "created_at"
        case expiresAt = "expires_at"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encodeIfPresent(ticketID, forKey: .ticketID)
        try container.encodeIfPresent(messageID, forKey: .messageID)
        try container.encode(filename, forKey: .filename)
        try container.encode(contentType, forKey: .contentType)
        try container.encode(size, forKey: .size)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encodeIfPresent(expiresAt, forKey: .expiresAt)
    }
}

/// Attachments: uploaded to a ticket the caller may write to, or (for a ticket's first message)
/// before the ticket exists; sealed in PostgreSQL; linked to a message by the create or reply that
/// names them; downloaded by whoever may see that message. An upload never sent expires.
struct AttachmentRepository: Sendable {
    let store: TicketStore
    let tickets: TicketRepository

    /// How long an upload may wait to be sent before it can no longer be linked and is swept.
    static let unsentLifetime: TimeInterval = 24 * 3_600
    /// Unsent uploads one principal may hold at a time, so uploads cannot pile up unbounded.
    static let maximumUnsent = 50

    /// Stores `content` (type-checked here) for `ticket`, or unlinked when `ticket` is nil, within
    /// the tenant's size limit and the uploader's allowance of unsent uploads.
    func upload(_ caller: Caller, ticket: UUID?, filename: String, content: [UInt8], requestID: String) async throws -> AttachmentRecord {
        try await store.database.withTenant(caller.tenant) { connection in
            if let ticket {
                let viewer = try await Viewer.resolve(caller, store: store, on: connection)
                let current = try await tickets.ticket(ticket, viewer: viewer, lock: false, on: connection)
                try caller.requireWrite()
                guard current.status != .closed else { throw TicketsError.ticketClosed }
            } else {
                try caller.requireWrite()
            }
            let settings = try await store.settings(on: connection)
            guard content.count <= settings.attachmentMaxBytes else { throw TicketsError.attachmentTooLarge(limit: settings.attachmentMaxBytes) }
            guard let type = AttachmentType.sniff(content) else { throw TicketsError.attachmentTypeNotAllowed }
            try await requireAllowance(caller, on: connection)
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
            let resource = ticket.map { AuditEvent.Resource(type: "ticket", id: $0.uuidString.lowercased()) }
                ?? AuditEvent.Resource(type: "attachment", id: id.uuidString.lowercased())
            try await store.audit(caller, "attachment.uploaded", resource,
                                  changes: ["attachment_id": [nil, id.uuidString.lowercased()], "content_type": [nil, type.rawValue]],
                                  requestID: requestID, on: connection)
            return AttachmentRecord(id: id, ticketID: ticket, messageID: nil, filename: name, contentType: type.rawValue, size: content.count, createdAt: created)
        }
    }

    /// Refuses an upload when the caller already holds ``maximumUnsent`` unsent, unexpired uploads
    /// (409). The lock serializes one principal's uploads so parallel ones cannot overshoot.
    private func requireAllowance(_ caller: Caller, on connection: PostgresConnection) async throws {
        let subject = caller.principal.subject
        let cutoff = Date().addingTimeInterval(-Self.unsentLifetime)
        try await TransactionLock.take("tickets.uploads:\(subject)", on: connection, logger: store.logger)
        let rows = try await connection.query("""
            SELECT count(*)::integer FROM attachments WHERE uploaded_by = \(subject) AND message_id IS NULL AND created_at > \(cutoff)
            """, logger: store.logger)
        for try await pending in rows.decode(Int.self) where pending >= Self.maximumUnsent {
            throw TicketsError.tooManyUnsentAttachments(limit: Self.maximumUnsent)
        }
    }

    /// Links uploads to a new message of `ticket` (its create or a reply): each must be unsent and
    /// unexpired, uploaded by the message's author, and either uploaded to this ticket or to none
    /// yet. Anything else — another user's or tenant's upload, an unknown id — is the same 422 on
    /// `field`, so an id reveals nothing.
    static func link(_ ids: [UUID], to message: UUID, ticket: UUID, field: String, store: TicketStore,
                     on connection: PostgresConnection) async throws -> [MessageView.Attachment] {
        guard !ids.isEmpty else { return [] }
        guard ids.count <= 20, Set(ids).count == ids.count else { throw TicketsError.attachmentUnavailable(field: field, "At most 20 distinct attachments.") }
        let cutoff = Date().addingTimeInterval(-unsentLifetime)
        let rows = try await connection.query("""
            UPDATE attachments SET message_id = \(message), ticket_id = \(ticket)
            WHERE id = ANY(\(ids)) AND (ticket_id = \(ticket) OR ticket_id IS NULL) AND message_id IS NULL AND created_at > \(cutoff)
              AND uploaded_by = (SELECT author_id FROM messages WHERE id = \(message))
            RETURNING id, filename, content_type, size
            """, logger: store.logger)
        var attached: [MessageView.Attachment] = []
        for try await (id, filename, type, size) in rows.decode((UUID, String, String, Int).self) {
            attached.append(.init(id: id, filename: filename, contentType: type, size: size))
        }
        guard attached.count == ids.count else {
            throw TicketsError.attachmentUnavailable(field: field, "Each attachment must be one you uploaded (to this ticket or before creating it), not yet sent and not expired.")
        }
        return attached.sorted { $0.id.uuidString < $1.id.uuidString }
    }

    /// The attachment and its content, if the caller may see it: its ticket must be reachable;
    /// an attachment of a note is staff-only; one not yet sent only its uploader or staff see,
    /// and one uploaded before its ticket exists only its uploader.
    func download(_ caller: Caller, id: UUID) async throws -> (AttachmentRecord, Data) {
        try await store.database.withTenant(caller.tenant) { connection in
            let viewer = try await Viewer.resolve(caller, store: store, on: connection)
            let rows = try await connection.query("""
                SELECT a.ticket_id, a.message_id, a.filename, a.content_type, a.size, a.created_at, a.content_sealed, a.uploaded_by, m.kind
                FROM attachments a LEFT JOIN messages m ON m.id = a.message_id WHERE a.id = \(id)
                """, logger: store.logger)
            var found: (UUID?, UUID?, String, String, Int, Date, Data, String, String?)?
            for try await row in rows.decode((UUID?, UUID?, String, String, Int, Date, Data, String, String?).self) { found = row }
            guard let found else { throw TicketsError.notFound(resource: "attachment") }
            let (ticket, message, filename, type, size, created, sealed, uploader, kind) = found
            let uploadedByCaller = uploader == caller.principal.subject
            let visible: Bool
            if let ticket {
                do {
                    _ = try await tickets.ticket(ticket, viewer: viewer, lock: false, on: connection)
                } catch TicketsError.notFound {
                    throw TicketsError.notFound(resource: "attachment")
                }
                visible = caller.isStaff || (message == nil ? uploadedByCaller : kind == MessageKind.reply.rawValue)
            } else {
                // An upload not yet given to a ticket is its uploader's alone.
                visible = uploadedByCaller
            }
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
