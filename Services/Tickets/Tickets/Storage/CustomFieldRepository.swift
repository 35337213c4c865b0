import Foundation
import PostgresNIO
import RampartCore
import RampartStorage

/// The tenant's custom field definitions.
struct CustomFieldRepository: Sendable {
    let store: TicketStore

    func list(_ caller: Caller) async throws -> [CustomFieldDefinition] {
        try await store.database.withTenant(caller.tenant) { connection in try await Self.all(store: store, on: connection) }
    }

    /// Field `id` of the caller's tenant (404 when there is none).
    func find(_ caller: Caller, id: UUID) async throws -> CustomFieldDefinition {
        guard let field = try await list(caller).first(where: { $0.id == id }) else { throw TicketsError.notFound(resource: "custom_field") }
        return field
    }

    static func all(store: TicketStore, on connection: PostgresConnection) async throws -> [CustomFieldDefinition] {
        let rows = try await connection.query("SELECT id, key, label, type, options, required FROM custom_fields ORDER BY key", logger: store.logger)
        var result: [CustomFieldDefinition] = []
        for try await (id, key, label, type, options, required) in rows.decode((UUID, String, String, String, [String], Bool).self) {
            guard let type = CustomFieldDefinition.FieldType(rawValue: type) else { continue }
            result.append(CustomFieldDefinition(id: id, key: key, label: label, type: type, options: options, required: required))
        }
        return result
    }

    func create(_ caller: Caller, _ field: CustomFieldDefinition, requestID: String) async throws -> CustomFieldDefinition {
        try await store.database.withTenant(caller.tenant) { connection in
            let rows = try await connection.query("""
                INSERT INTO custom_fields (id, tenant_id, key, label, type, options, required)
                VALUES (\(field.id), \(caller.tenant.rawValue), \(field.key), \(field.label), \(field.type.rawValue), \(field.options), \(field.required))
                ON CONFLICT DO NOTHING RETURNING id
                """, logger: store.logger)
            guard try await rows.any() else { throw TicketsError.duplicate(field: "key") }
            try await store.audit(caller, "custom_field.created", .init(type: "custom_field", id: field.id.uuidString.lowercased(), label: field.key),
                                  requestID: requestID, on: connection)
            return field
        }
    }

    /// Changes field `id`: its row is locked first and the field as stored goes to `check`, which
    /// may refuse (a stale version); changes of one field so run one after another.
    func update(_ caller: Caller, id: UUID, label: String?, options: [String]?, required: Bool?, requestID: String,
                check: (CustomFieldDefinition) throws -> Void = { _ in }) async throws -> CustomFieldDefinition {
        try await store.database.withTenant(caller.tenant) { connection in
            try await connection.query("SELECT 1 FROM custom_fields WHERE id = \(id) FOR NO KEY UPDATE", logger: store.logger)
            guard var field = try await Self.all(store: store, on: connection).first(where: { $0.id == id }) else {
                throw TicketsError.notFound(resource: "custom_field")
            }
            try check(field)
            if let label { field.label = label }
            if let required { field.required = required }
            if let options {
                guard field.type == .singleChoice || field.type == .multipleChoice else {
                    throw TicketsError.invalidInput([.init(field: "options", message: "Only choice fields have options.")])
                }
                field.options = options
            }
            try await connection.query("""
                UPDATE custom_fields SET label = \(field.label), options = \(field.options), required = \(field.required) WHERE id = \(id)
                """, logger: store.logger)
            try await store.audit(caller, "custom_field.updated", .init(type: "custom_field", id: id.uuidString.lowercased(), label: field.key),
                                  requestID: requestID, on: connection)
            return field
        }
    }

    /// Removes a definition and purges its values from every ticket (in the recycle bin too), in
    /// one transaction: once it is gone, no ticket shows, takes or keeps a value for it. Each
    /// ticket that held a value is resealed and changes version; one audit event has the count.
    func remove(_ caller: Caller, id: UUID, requestID: String) async throws {
        try await store.database.withTenant(caller.tenant) { connection in
            let rows = try await connection.query("DELETE FROM custom_fields WHERE id = \(id) RETURNING key", logger: store.logger)
            var removed: String?
            for try await key in rows.decode(String.self) { removed = key }
            guard let key = removed else { throw TicketsError.notFound(resource: "custom_field") }
            // Locked rows are read at their latest version, so a concurrent PATCH that still saw the
            // definition is purged after it commits, and one that starts now no longer sees it.
            let sealed = try await connection.query("""
                SELECT id, custom_fields_sealed FROM tickets WHERE custom_fields_sealed IS NOT NULL FOR UPDATE
                """, logger: store.logger)
            var tickets: [(UUID, Data)] = []
            for try await row in sealed.decode((UUID, Data).self) { tickets.append(row) }
            var purged = 0
            for (ticket, data) in tickets {
                var values = try await store.openCustomFields(data, tenant: caller.tenant, ticket: ticket)
                guard values.removeValue(forKey: key) != nil else { continue }
                let resealed = try await store.sealCustomFields(values, tenant: caller.tenant, ticket: ticket)
                try await connection.query("""
                    UPDATE tickets SET custom_fields_sealed = \(resealed), updated_at = now(), version = version + 1 WHERE id = \(ticket)
                    """, logger: store.logger)
                purged += 1
            }
            try await store.audit(caller, "custom_field.deleted", .init(type: "custom_field", id: id.uuidString.lowercased(), label: key),
                                  changes: ["tickets_purged": [nil, String(purged)]], requestID: requestID, on: connection)
        }
    }
}

/// The tenant's helpdesk settings.
struct SettingsRepository: Sendable {
    let store: TicketStore

    func get(_ caller: Caller) async throws -> TicketSettings {
        try await store.database.withTenant(caller.tenant) { connection in try await store.settings(on: connection) }
    }

    /// Changes the tenant's settings in one transaction, one change after another (a per-tenant
    /// lock): `change` gets the stored settings and answers the new ones, or throws and nothing
    /// changes. So two changes of different settings both stay.
    func update(_ caller: Caller, requestID: String, _ change: (TicketSettings) throws -> TicketSettings) async throws -> TicketSettings {
        try await store.database.withTenant(caller.tenant) { connection in
            try await TransactionLock.take("tickets.settings:\(caller.tenant.rawValue)", on: connection, logger: store.logger)
            let old = try await store.settings(on: connection)
            let settings = try change(old)
            try await connection.query("""
                INSERT INTO settings (tenant_id, customers_see_organization, card_keep_first, card_keep_last, attachment_max_bytes,
                                      recycle_bin_days, closed_ticket_days, erasure_ticket_content)
                VALUES (\(caller.tenant.rawValue), \(settings.customersSeeOrganization), \(settings.cardKeepFirst), \(settings.cardKeepLast),
                        \(settings.attachmentMaxBytes), \(settings.recycleBinDays), \(settings.closedTicketDays == 0 ? nil : settings.closedTicketDays),
                        \(settings.erasureTicketContent.rawValue))
                ON CONFLICT (tenant_id) DO UPDATE SET customers_see_organization = EXCLUDED.customers_see_organization,
                    card_keep_first = EXCLUDED.card_keep_first, card_keep_last = EXCLUDED.card_keep_last,
                    attachment_max_bytes = EXCLUDED.attachment_max_bytes, recycle_bin_days = EXCLUDED.recycle_bin_days,
                    closed_ticket_days = EXCLUDED.closed_ticket_days, erasure_ticket_content = EXCLUDED.erasure_ticket_content, updated_at = now()
                """, logger: store.logger)
            let changes: [String: [String?]] = [
                "customers_see_organization": ["\(old.customersSeeOrganization)", "\(settings.customersSeeOrganization)"],
                "card_keep_first": ["\(old.cardKeepFirst)", "\(settings.cardKeepFirst)"],
                "card_keep_last": ["\(old.cardKeepLast)", "\(settings.cardKeepLast)"],
                "attachment_max_bytes": ["\(old.attachmentMaxBytes)", "\(settings.attachmentMaxBytes)"],
                "recycle_bin_days": ["\(old.recycleBinDays)", "\(settings.recycleBinDays)"],
                "closed_ticket_days": ["\(old.closedTicketDays)", "\(settings.closedTicketDays)"],
                "erasure_ticket_content": [old.erasureTicketContent.rawValue, settings.erasureTicketContent.rawValue],
            ].filter { $0.value[0] != $0.value[1] }
            try await store.audit(caller, "ticket_settings.updated", .init(type: "ticket_settings", id: caller.tenant.description),
                                  changes: changes, requestID: requestID, on: connection)
            return settings
        }
    }
}
