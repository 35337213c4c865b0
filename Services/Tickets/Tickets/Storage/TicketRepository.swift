import Foundation
import PostgresNIO
import RampartCore
import RampartTransport

/// Tickets: created together with their first message, read, listed, changed under `If-Match`,
/// moved to the recycle bin and restored. Every query runs in the tenant's transaction and
/// reaches only the tickets `ticket_visible` grants the caller; everything that changes state
/// writes its audit events in the same transaction.
struct TicketRepository: Sendable {
    let store: TicketStore
    let search: SearchIndex

    /// The columns a `TicketView` is read from (`t` tickets, `p` the requester).
    static let columns = """
        t.id, t.subject_sealed, t.status, t.priority, t.department_id, t.assignee_id, t.team_id, t.requester_id,
        p.name AS requester_name, p.email AS requester_email, t.organization_id, t.cc_ids, t.labels, t.custom_fields_sealed,
        t.created_at, t.updated_at, t.resolved_at, t.first_responded_at, t.first_response_due_at, t.resolution_due_at, t.deleted_at, t.version
        """

    // MARK: Create

    /// Creates a ticket and its first message atomically: both exist, or neither does. The first
    /// message may take attachments uploaded before the ticket existed.
    func create(_ caller: Caller, _ input: NewTicket, requestID: String) async throws -> (TicketView, MessageView) {
        try caller.requireWrite()
        if !caller.isStaff {
            let refused = input.staffOnlyFields
            guard refused.isEmpty else {
                throw TicketsError.fieldsNotAllowed(refused)
            }
            guard input.message.kind == .reply else {
                throw TicketsError.fieldsNotAllowed(["message.kind"])
            }
        }
        let subjectInput = try TicketRules.subject(input.subject)
        let labels = try TicketRules.labels(input.labels ?? [])
        guard (input.cc ?? []).count <= TicketRules.maximumCC else {
            throw TicketsError.invalidInput([.init(field: "cc", message: "At most \(TicketRules.maximumCC) people.")])
        }
        return try await store.database.withTenant(caller.tenant) { connection in
            // A customer's ticket names their own person as requester: a merge or removal of that
            // person waits for the ticket (and moves it), or goes first and the customer is then
            // found as the person they were merged into — never a ticket naming a deleted person.
            if input.requester != nil || !(input.cc ?? []).isEmpty || !caller.isStaff {
                try await PeopleRepository.nameByAddress(tenant: caller.tenant, store: store, on: connection)
            }
            let viewer = try await Viewer.resolve(caller, store: store, on: connection)
            let settings = try await store.settings(on: connection)
            let redactor = settings.redactor
            let (subject, subjectRedactions) = redactor.redact(subjectInput)
            let body = try TicketRules.body(input.message.value, redactor: redactor, field: "message.body")
            let definitions = try await CustomFieldRepository.all(store: store, on: connection)
            let (custom, customRedactions) = try TicketRules.customFields(input.customFields ?? [:], current: [:], definitions: definitions,
                                                                          creating: true, redactor: redactor)
            let sla = try await references(department: input.department, team: input.teamID, on: connection)

            let requester: UUID?
            if let email = input.requester {
                requester = try await PeopleRepository.person(email: email.value, tenant: caller.tenant, store: store, on: connection)
            } else {
                requester = viewer.person
            }
            var ccIDs: [UUID] = []
            for email in input.cc ?? [] {
                ccIDs.append(try await PeopleRepository.person(email: email.value, tenant: caller.tenant, store: store, on: connection))
            }
            let organization = try await requester.asyncMap { try await PeopleRepository.find($0, store: store, on: connection).organizationID } ?? nil

            // An agent's new ticket without an assignee is theirs, so they keep reaching it.
            let assignee = input.assigneeID ?? caller.agentID
            let id = UUIDv7.make()
            let tenant = caller.tenant
            let subjectSealed = try await store.seal(subject, tenant: tenant, table: "tickets", column: "subject", row: id)
            let customSealed = try await store.sealCustomFields(custom, tenant: tenant, ticket: id)
            try await connection.query("""
                INSERT INTO tickets (id, tenant_id, subject_sealed, priority, department_id, assignee_id, team_id, requester_id, organization_id,
                                     cc_ids, labels, custom_fields_sealed, created_by, first_response_due_at, resolution_due_at)
                VALUES (\(id), \(tenant.rawValue), \(subjectSealed), \((input.priority ?? .normal).rawValue), \(input.department), \(assignee),
                        \(input.teamID), \(requester), \(organization), \(Array(Set(ccIDs))), \(labels), \(customSealed), \(caller.principal.subject),
                        now() + make_interval(mins => \(sla.firstResponse)::integer), now() + make_interval(mins => \(sla.resolution)::integer))
                """, logger: store.logger)
            var message = try await MessageRepository.insert(
                caller, ticket: id, kind: input.message.kind, format: input.message.format, body: body.stored, store: store, on: connection
            )
            message.attachments = try await AttachmentRepository.link(input.message.attachmentIDs, to: message.id, ticket: id,
                                                                      field: "message.attachment_ids", store: store, on: connection)
            try await search.add(subject, ticket: id, staffOnly: false, tenant: tenant, on: connection)
            try await search.add(body.text, ticket: id, staffOnly: input.message.kind == .note, tenant: tenant, on: connection)
            let resource = AuditEvent.Resource(type: "ticket", id: id.uuidString.lowercased())
            try await store.audit(caller, "ticket.created", resource, changes: [
                "status": [nil, TicketStatus.new.rawValue], "priority": [nil, (input.priority ?? .normal).rawValue],
                "department_id": [nil, input.department?.uuidString.lowercased()], "assignee_id": [nil, assignee?.uuidString.lowercased()],
            ].filter { $0.value[1] != nil }, requestID: requestID, on: connection)
            try await recordRedactions(caller, subjectRedactions + body.redactions + customRedactions, resource, requestID: requestID, on: connection)
            return (try await ticket(id, viewer: viewer, lock: false, on: connection), message)
        }
    }

    // MARK: Read

    func find(_ caller: Caller, id: UUID, deleted: Bool = false) async throws -> TicketView {
        try await store.database.withTenant(caller.tenant) { connection in
            let viewer = try await Viewer.resolve(caller, store: store, on: connection)
            return try await ticket(id, viewer: viewer, lock: false, deleted: deleted, on: connection)
        }
    }

    /// The ticket `id` if the viewer reaches it (404 otherwise); `lock` takes the row for an update.
    func ticket(_ id: UUID, viewer: Viewer, lock: Bool, deleted: Bool = false, on connection: PostgresConnection) async throws -> TicketView {
        let rows = try await connection.query("""
            SELECT \(unescaped: Self.columns) FROM tickets t LEFT JOIN people p ON p.id = t.requester_id
            WHERE t.id = \(id) AND (t.deleted_at IS NOT NULL) = \(deleted)
              AND ticket_visible(\(viewer.reach), \(viewer.agent), \(viewer.person), \(viewer.organization), t.department_id, t.assignee_id, t.requester_id, t.organization_id)
            \(unescaped: lock ? "FOR UPDATE OF t" : "")
            """, logger: store.logger)
        guard let found = try await views(rows, tenant: viewer.caller.tenant).first else { throw TicketsError.notFound(resource: "ticket") }
        return found
    }

    /// Opens the rows of a ticket query.
    func views(_ rows: PostgresRowSequence, tenant: TenantID) async throws -> [TicketView] {
        try await collect(rows) { try await view($0, tenant: tenant) }
    }

    /// Opens one row of a ticket query (subject and custom fields unsealed).
    func view(_ row: PostgresRandomAccessRow, tenant: TenantID) async throws -> TicketView {
        let id: UUID = try row.get("id")
        let requesterID: UUID? = try row.get("requester_id")
        let customSealed: Data? = try row.get("custom_fields_sealed")
        let custom = try await customSealed.asyncMap { try await store.openCustomFields($0, tenant: tenant, ticket: id) }
        return TicketView(
            id: id,
            subject: try await store.open(try row.get("subject_sealed"), tenant: tenant, table: "tickets", column: "subject", row: id),
            status: TicketStatus(rawValue: try row.get("status")) ?? .open,
            priority: TicketPriority(rawValue: try row.get("priority")) ?? .normal,
            departmentID: try row.get("department_id"), assigneeID: try row.get("assignee_id"), teamID: try row.get("team_id"),
            requester: try requesterID.map { TicketView.Requester(id: $0, name: try row.get("requester_name"), email: try row.get("requester_email")) },
            organizationID: try row.get("organization_id"), ccIDs: try row.get("cc_ids"), labels: try row.get("labels"),
            customFields: custom ?? [:],
            createdAt: try row.get("created_at"), updatedAt: try row.get("updated_at"), resolvedAt: try row.get("resolved_at"),
            firstRespondedAt: try row.get("first_responded_at"), firstResponseDueAt: try row.get("first_response_due_at"),
            resolutionDueAt: try row.get("resolution_due_at"), deletedAt: try row.get("deleted_at"), version: try row.get("version")
        )
    }

    // MARK: Update

    /// Applies `changes` if `expected` (when given) admits the ticket's version: 412 otherwise.
    func update(_ caller: Caller, id: UUID, _ changes: TicketChanges, expected: EntityTag.Precondition?, requestID: String) async throws -> TicketView {
        try await store.database.withTenant(caller.tenant) { connection in
            if changes.cc != nil { try await PeopleRepository.nameByAddress(tenant: caller.tenant, store: store, on: connection) }
            let viewer = try await Viewer.resolve(caller, store: store, on: connection)
            let current = try await ticket(id, viewer: viewer, lock: true, on: connection)
            try caller.requireWrite()
            try caller.requireStaff()
            if let expected, !expected.admits(String(current.version)) { throw TicketsError.versionMismatch }

            let settings = try await store.settings(on: connection)
            let redactor = settings.redactor
            var subjectRedactions = 0
            var subject = current.subject
            if let raw = changes.subject {
                (subject, subjectRedactions) = redactor.redact(try TicketRules.subject(raw))
            }
            let status = changes.status ?? current.status
            guard current.status.canMove(to: status) else { throw TicketsError.invalidTransition(from: current.status, to: status) }
            let department = changes.department.applied(to: current.departmentID)
            let team = changes.teamID.applied(to: current.teamID)
            let assignee = changes.assigneeID.applied(to: current.assigneeID)
            let sla = try await references(department: department, team: team, on: connection)
            let labels = try changes.labels.map(TicketRules.labels) ?? current.labels
            var ccIDs = current.ccIDs
            if let cc = changes.cc {
                guard cc.count <= TicketRules.maximumCC else { throw TicketsError.invalidInput([.init(field: "cc", message: "At most \(TicketRules.maximumCC) people.")]) }
                ccIDs = []
                for email in cc { ccIDs.append(try await PeopleRepository.person(email: email.value, tenant: caller.tenant, store: store, on: connection)) }
            }
            var custom = current.customFields
            var customRedactions = 0
            if let input = changes.customFields {
                let definitions = try await CustomFieldRepository.all(store: store, on: connection)
                (custom, customRedactions) = try TicketRules.customFields(input, current: current.customFields, definitions: definitions, creating: false, redactor: redactor)
            }

            let subjectSealed = try await store.seal(subject, tenant: caller.tenant, table: "tickets", column: "subject", row: id)
            let customSealed = try await store.sealCustomFields(custom, tenant: caller.tenant, ticket: id)
            try await connection.query("""
                UPDATE tickets SET subject_sealed = \(subjectSealed), status = \(status.rawValue), priority = \((changes.priority ?? current.priority).rawValue),
                    department_id = \(department), team_id = \(team), assignee_id = \(assignee), labels = \(labels), cc_ids = \(Array(Set(ccIDs))),
                    custom_fields_sealed = \(customSealed),
                    resolved_at = CASE WHEN \(status.rawValue) IN ('resolved', 'closed') THEN COALESCE(resolved_at, now()) ELSE NULL END,
                    first_response_due_at = CASE WHEN \(department) IS DISTINCT FROM department_id
                        THEN created_at + make_interval(mins => \(sla.firstResponse)::integer) ELSE first_response_due_at END,
                    resolution_due_at = CASE WHEN \(department) IS DISTINCT FROM department_id
                        THEN created_at + make_interval(mins => \(sla.resolution)::integer) ELSE resolution_due_at END,
                    updated_at = now(), version = version + 1
                WHERE id = \(id)
                """, logger: store.logger)
            if changes.subject != nil, subject != current.subject {
                try await reindex(id, subject: subject, tenant: caller.tenant, on: connection)
            }

            let resource = AuditEvent.Resource(type: "ticket", id: id.uuidString.lowercased())
            func text(_ id: UUID?) -> String? { id?.uuidString.lowercased() }
            if status != current.status {
                try await store.audit(caller, "ticket.status_changed", resource, changes: ["status": [current.status.rawValue, status.rawValue]],
                                      requestID: requestID, on: connection)
            }
            if assignee != current.assigneeID || team != current.teamID {
                try await store.audit(caller, "ticket.assigned", resource, changes: [
                    "assignee_id": [text(current.assigneeID), text(assignee)], "team_id": [text(current.teamID), text(team)],
                ], requestID: requestID, on: connection)
            }
            let other: [String: [String?]] = [
                "priority": [current.priority.rawValue, (changes.priority ?? current.priority).rawValue],
                "department_id": [text(current.departmentID), text(department)],
                "labels": [current.labels.joined(separator: ","), labels.joined(separator: ",")],
                // Sealed values are recorded as the fact of a change, never the value.
                "subject": [nil, subject != current.subject ? "changed" : nil],
                "custom_fields": [nil, custom != current.customFields ? "changed" : nil],
                "cc_ids": [nil, Set(ccIDs) != Set(current.ccIDs) ? "changed" : nil],
            ].filter { $0.value[0] != $0.value[1] }
            if !other.isEmpty {
                try await store.audit(caller, "ticket.updated", resource, changes: other, requestID: requestID, on: connection)
            }
            try await recordRedactions(caller, subjectRedactions + customRedactions, resource, requestID: requestID, on: connection)
            return try await ticket(id, viewer: viewer, lock: false, on: connection)
        }
    }

    /// Moves a ticket to the recycle bin (`restore` false) or back out of it.
    func moveToBin(_ caller: Caller, id: UUID, restore: Bool, expected: EntityTag.Precondition?, requestID: String) async throws -> TicketView {
        try await store.database.withTenant(caller.tenant) { connection in
            let viewer = try await Viewer.resolve(caller, store: store, on: connection)
            let current = try await ticket(id, viewer: viewer, lock: true, deleted: restore, on: connection)
            try caller.requireWrite()
            try caller.requireStaff()
            if let expected, !expected.admits(String(current.version)) { throw TicketsError.versionMismatch }
            try await connection.query("""
                UPDATE tickets SET deleted_at = \(restore ? nil : Date()), updated_at = now(), version = version + 1 WHERE id = \(id)
                """, logger: store.logger)
            try await store.audit(caller, restore ? "ticket.restored" : "ticket.deleted", .init(type: "ticket", id: id.uuidString.lowercased()),
                                  requestID: requestID, on: connection)
            return try await ticket(id, viewer: viewer, lock: false, deleted: !restore, on: connection)
        }
    }

    /// Deletes every ticket in the tenant's recycle bin for good, now (admins), instead of waiting
    /// for `recycle_bin_days`; messages, attachments and search entries go with them. Returns the
    /// count; the audit event records it, even when the bin was already empty.
    func emptyRecycleBin(_ caller: Caller, requestID: String) async throws -> Int {
        try caller.requireAdmin()
        return try await store.database.withTenant(caller.tenant) { connection in
            let deleted = try await connection.query("""
                WITH gone AS (DELETE FROM tickets WHERE deleted_at IS NOT NULL RETURNING 1) SELECT count(*)::integer FROM gone
                """, logger: store.logger).integer()
            try await store.audit(caller, "tickets.recycle_bin_emptied", .init(type: "ticket_recycle_bin", id: caller.tenant.description),
                                  changes: ["deleted": [nil, String(deleted)]], requestID: requestID, on: connection)
            return deleted
        }
    }

    // MARK: Helpers

    /// Checks that a department and team exist in the tenant; returns the department's SLA minutes.
    func references(department: UUID?, team: UUID?, on connection: PostgresConnection) async throws -> (firstResponse: Int?, resolution: Int?) {
        var errors: [(String, String)] = []
        var sla: (Int?, Int?) = (nil, nil)
        if let department {
            let rows = try await connection.query("SELECT first_response_minutes, resolution_minutes FROM departments WHERE id = \(department)", logger: store.logger)
            var found = false
            for try await minutes in rows.decode((Int?, Int?).self) { sla = minutes; found = true }
            if !found { errors.append(("department", "No such department.")) }
        }
        if let team, try await !PeopleRepository.exists("teams", team, store: store, on: connection) {
            errors.append(("team_id", "No such team."))
        }
        guard errors.isEmpty else { throw TicketsError.invalidInput(errors.map { .init(field: $0.0, message: $0.1) }) }
        return sla
    }

    /// Rebuilds a ticket's search tokens from its subject and every message.
    func reindex(_ id: UUID, subject: String, tenant: TenantID, on connection: PostgresConnection) async throws {
        try await search.clear(ticket: id, on: connection)
        try await search.add(subject, ticket: id, staffOnly: false, tenant: tenant, on: connection)
        let rows = try await connection.query("SELECT id, kind, format, body_sealed FROM messages WHERE ticket_id = \(id)", logger: store.logger)
        var messages: [(UUID, String, String, Data)] = []
        for try await row in rows.decode((UUID, String, String, Data).self) { messages.append(row) }
        for (message, kind, format, sealed) in messages {
            let body = try await store.open(sealed, tenant: tenant, table: "messages", column: "body", row: message)
            try await search.add(format == MessageFormat.html.rawValue ? HTMLSanitizer.text(of: body) : body,
                                 ticket: id, staffOnly: kind == MessageKind.note.rawValue, tenant: tenant, on: connection)
        }
    }

    /// Records that `count` card numbers were masked (never the numbers themselves).
    func recordRedactions(_ caller: Caller, _ count: Int, _ resource: AuditEvent.Resource, requestID: String, on connection: PostgresConnection) async throws {
        guard count > 0 else { return }
        try await store.audit(caller, "ticket.card_number_redacted", resource, changes: ["card_numbers": [nil, String(count)]], requestID: requestID, on: connection)
    }
}

extension Patch {
    /// The value after applying the patch to `current`.
    func applied(to current: Value?) -> Value? {
        switch self {
        case .absent: current
        case .clear: nil
        case .set(let value): value
        }
    }
}

extension Optional {
    /// `map` with an asynchronous transform.
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let self else { return nil }
        return try await transform(self)
    }
}
