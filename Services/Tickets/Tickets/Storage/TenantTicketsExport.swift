import Foundation
import RampartCore
import RampartSecurity
import RampartStorage
import RampartTransport

/// Tickets' part of a tenant export: tickets (subjects and custom-field values opened), messages
/// with internal notes (bodies opened), people, organizations, departments and teams with their
/// agents, custom-field definitions, attachments' metadata — and each attachment's bytes, one at a
/// time, for the archive's files. Tickets in the recycle bin are included (`deleted_at`).
struct TenantTicketsExport: TenantDataExporter {
    let store: TicketStore

    static let tables: [TenantExportTable] = [
        TenantExportTable(entity: "tickets", table: "tickets", projection: """
            jsonb_build_object('id', t.id, 'status', t.status, 'priority', t.priority, 'department_id', t.department_id,
                'assignee_id', t.assignee_id, 'team_id', t.team_id, 'requester_id', t.requester_id, 'organization_id', t.organization_id,
                'cc_ids', t.cc_ids, 'labels', t.labels, 'created_by', t.created_by, 'created_at', t.created_at, 'updated_at', t.updated_at,
                'resolved_at', t.resolved_at, 'first_responded_at', t.first_responded_at, 'first_response_due_at', t.first_response_due_at,
                'resolution_due_at', t.resolution_due_at, 'deleted_at', t.deleted_at, 'version', t.version)
            """, sealed: [.init(column: "subject_sealed", context: "subject", field: "subject"),
                          .init(column: "custom_fields_sealed", context: "custom_fields", field: "custom_fields", isJSON: true)]),
        TenantExportTable(entity: "messages", table: "messages", projection: """
            jsonb_build_object('id', t.id, 'ticket_id', t.ticket_id, 'kind', t.kind, 'format', t.format,
                'author', jsonb_build_object('type', t.author_type, 'id', t.author_id), 'created_at', t.created_at)
            """, sealed: [.init(column: "body_sealed", context: "body", field: "body")]),
        TenantExportTable(entity: "attachments", table: "attachments", projection: """
            jsonb_build_object('id', t.id, 'ticket_id', t.ticket_id, 'message_id', t.message_id, 'filename', t.filename,
                'content_type', t.content_type, 'size', t.size, 'uploaded_by', t.uploaded_by, 'created_at', t.created_at,
                'file', 'tickets/attachment-files/' || t.id)
            """),
        TenantExportTable(entity: "people", table: "people", projection: """
            jsonb_build_object('id', t.id, 'email', t.email, 'name', t.name, 'organization_id', t.organization_id,
                'user_id', t.user_id, 'created_at', t.created_at, 'updated_at', t.updated_at)
            """),
        TenantExportTable(entity: "organizations", table: "organizations", projection: """
            jsonb_build_object('id', t.id, 'name', t.name, 'created_at', t.created_at, 'updated_at', t.updated_at)
            """),
        TenantExportTable(entity: "departments", table: "departments", projection: """
            jsonb_build_object('id', t.id, 'name', t.name, 'first_response_minutes', t.first_response_minutes,
                'resolution_minutes', t.resolution_minutes, 'created_at', t.created_at,
                'agent_ids', ARRAY(SELECT a.agent_id FROM department_agents a WHERE a.department_id = t.id ORDER BY a.agent_id))
            """),
        TenantExportTable(entity: "teams", table: "teams", projection: """
            jsonb_build_object('id', t.id, 'name', t.name, 'created_at', t.created_at,
                'agent_ids', ARRAY(SELECT m.agent_id FROM team_members m WHERE m.team_id = t.id ORDER BY m.agent_id))
            """),
        TenantExportTable(entity: "custom_fields", table: "custom_fields", projection: """
            jsonb_build_object('id', t.id, 'key', t.key, 'label', t.label, 'type', t.type, 'options', t.options,
                'required', t.required, 'created_at', t.created_at)
            """),
    ]

    var entities: [String] { Self.tables.map(\.entity) }

    func page(_ entity: String, tenant: TenantID, after cursor: String?, limit: Int) async throws -> TenantExportPage {
        guard let table = Self.tables.first(where: { $0.entity == entity }) else { return TenantExportPage(rows: [], next: nil) }
        return try await table.page(tenant: tenant, after: cursor, limit: limit, database: store.database, keyring: store.keyring)
    }

    func file(_ id: UUID, tenant: TenantID) async throws -> Data? {
        let sealed: Data? = try await store.database.withTenant(tenant) { connection in
            var content: Data?
            for try await value in try await connection.query("SELECT content_sealed FROM attachments WHERE id = \(id)", logger: store.logger).decode(Data.self) {
                content = value
            }
            return content
        }
        guard let sealed else { return nil }
        return try await store.keyring.open(sealed, tenant: tenant, context: SealContext(table: "attachments", column: "content", rowID: id.uuidString.lowercased()))
    }
}
