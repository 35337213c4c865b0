import Foundation
import PostgresNIO
import RampartCore
import RampartStorage
import RampartTransport

/// A customer: requester or CC of tickets; linked to identity's customer user when they use the portal.
struct Person: Encodable, Sendable {
    var id: UUID
    var email: String?
    var name: String
    var organizationID: UUID?
    var userID: UUID?
    var createdAt: Date
    var updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case id, email, name
        case organizationID = "organization_id"
        case userID = "user_id"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    static let columns = "id, email, name, organization_id, user_id, created_at, updated_at"

    init(_ row: PostgresRandomAccessRow) throws {
        id = try row.get("id")
        email = try row.get("email")
        name = try row.get("name")
        organizationID = try row.get("organization_id")
        userID = try row.get("user_id")
        createdAt = try row.get("created_at")
        updatedAt = try row.get("updated_at")
    }
}

/// A customer organization people belong to.
struct Organization: Encodable, Sendable {
    var id: UUID
    var name: String
    var createdAt: Date
    var updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case id, name
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

extension Person {
    /// The person's version (the API's `ETag`): a digest of what a change can set.
    var version: String { EntityTag.version(of: [email, name, organizationID?.uuidString, userID?.uuidString]) }
}

extension Organization {
    /// The organization's version (the API's `ETag`): a digest of its name.
    var version: String { EntityTag.version(of: [name]) }
}

/// People and organizations, always inside the tenant's transaction.
struct PeopleRepository: Sendable {
    let store: TicketStore

    /// The person of a portal user, created (without an email) the first time they use the
    /// helpdesk; with their organization. Read on every request of the user and takes no lock of
    /// its own: a new ticket, which names them as its requester, holds
    /// ``nameByAddress(tenant:store:on:)`` first, so a merge of the person cannot delete them
    /// between this read and the ticket's insert.
    static func person(forUser user: UUID, tenant: TenantID, store: TicketStore, on connection: PostgresConnection) async throws -> (UUID, UUID?) {
        let fresh = UUIDv7.make()
        return try await made("""
            INSERT INTO people (id, tenant_id, name, user_id) VALUES (\(fresh), \(tenant.rawValue), 'Portal user', \(user))
            ON CONFLICT (tenant_id, user_id) DO NOTHING
            """, then: "SELECT id, organization_id FROM people WHERE user_id = \(user)", store: store, on: connection)
    }

    /// The person with `email`, created with `name` when there is none (staff naming a requester
    /// or CC). The transaction holds ``nameByAddress(tenant:store:on:)`` from its start.
    static func person(email: EmailInput, tenant: TenantID, store: TicketStore, on connection: PostgresConnection) async throws -> UUID {
        let fresh = UUIDv7.make()
        return try await made("""
            INSERT INTO people (id, tenant_id, email, name) VALUES (\(fresh), \(tenant.rawValue), \(email.address), \(email.name ?? email.address))
            ON CONFLICT (tenant_id, email) DO NOTHING
            """, then: "SELECT id, organization_id FROM people WHERE email = \(email.address)", store: store, on: connection).0
    }

    /// Taken first (before any row lock) by a transaction that names people by address on a
    /// ticket: shared, so such saves run side by side, while a removal or merge of people
    /// (``changingPeople(tenant:store:on:)``) waits for them and then sees their tickets — and
    /// they wait for it. CCs have no foreign key: without this a removal could leave a new
    /// ticket's CC naming nobody. Taking it before any row keeps the two from deadlocking (a
    /// ticket locked and then its people, against people locked and then their tickets).
    static func nameByAddress(tenant: TenantID, store: TicketStore, on connection: PostgresConnection) async throws {
        try await connection.query("""
            SELECT pg_advisory_xact_lock_shared(hashtext('rampart.tickets.people'), hashtext(\(tenant.description)))
            """, logger: store.logger)
    }

    /// Taken first by a removal or merge of people: exclusive against ``nameByAddress(tenant:store:on:)``.
    static func changingPeople(tenant: TenantID, store: TicketStore, on connection: PostgresConnection) async throws {
        try await connection.query("""
            SELECT pg_advisory_xact_lock(hashtext('rampart.tickets.people'), hashtext(\(tenant.description)))
            """, logger: store.logger)
    }

    /// Runs `insert` (the person made unless they exist), then `find`; a person removed in
    /// between is made again.
    private static func made(_ insert: PostgresQuery, then find: PostgresQuery, store: TicketStore,
                             on connection: PostgresConnection) async throws -> (UUID, UUID?) {
        for _ in 0..<3 {
            try await connection.query(insert, logger: store.logger)
            for try await row in try await connection.query(find, logger: store.logger).decode((UUID, UUID?).self) { return row }
        }
        throw TicketsError.notFound(resource: "person")
    }

    func list(_ caller: Caller, email: String?, organization: UUID?, after: UUID?, limit: Int) async throws -> [Person] {
        try await store.database.withTenant(caller.tenant) { connection in
            try await collect(try await connection.query("""
                SELECT \(unescaped: Person.columns) FROM people
                WHERE (\(email)::text IS NULL OR email = \(email)) AND (\(organization)::uuid IS NULL OR organization_id = \(organization))
                  AND (\(after)::uuid IS NULL OR id > \(after))
                ORDER BY id LIMIT \(limit)
                """, logger: store.logger)) { try Person($0) }
        }
    }

    func find(_ caller: Caller, id: UUID) async throws -> Person {
        try await store.database.withTenant(caller.tenant) { connection in
            try await Self.find(id, store: store, on: connection)
        }
    }

    static func find(_ id: UUID, store: TicketStore, on connection: PostgresConnection) async throws -> Person {
        let rows = try await connection.query("SELECT \(unescaped: Person.columns) FROM people WHERE id = \(id)", logger: store.logger)
        guard let person = try await collect(rows, { try Person($0) }).first else { throw TicketsError.notFound(resource: "person") }
        return person
    }

    func create(_ caller: Caller, email: String?, name: String, organization: UUID?, user: UUID?, requestID: String) async throws -> Person {
        try await store.database.withTenant(caller.tenant) { connection in
            try await Self.requireOrganization(organization, store: store, on: connection)
            let id = UUIDv7.make()
            let rows = try await connection.query("""
                INSERT INTO people (id, tenant_id, email, name, organization_id, user_id)
                VALUES (\(id), \(caller.tenant.rawValue), \(email), \(name), \(organization), \(user))
                ON CONFLICT DO NOTHING RETURNING id
                """, logger: store.logger)
            guard try await rows.any() else {
                throw TicketsError.duplicate(field: user != nil ? "user_id" : "email")
            }
            try await store.audit(caller, "person.created", .init(type: "person", id: id.uuidString.lowercased()), requestID: requestID, on: connection)
            return try await Self.find(id, store: store, on: connection)
        }
    }

    /// Changes what is given and keeps the rest as stored: the row is locked before it is read, so
    /// two changes of different fields (or a change and a merge) both stay; `check` sees the
    /// person as stored and may refuse the change (a stale version).
    func update(_ caller: Caller, id: UUID, email: Patch<String>, name: String?, organization: Patch<UUID>, requestID: String,
                check: (Person) throws -> Void = { _ in }) async throws -> Person {
        try await store.database.withTenant(caller.tenant) { connection in
            try await connection.query("SELECT 1 FROM people WHERE id = \(id) FOR NO KEY UPDATE", logger: store.logger)
            let current = try await Self.find(id, store: store, on: connection)
            try check(current)
            if case .set(let organization) = organization { try await Self.requireOrganization(organization, store: store, on: connection) }
            let newEmail = email.applied(to: current.email)
            let newOrganization = organization.applied(to: current.organizationID)
            let rows = try await connection.query("""
                UPDATE people SET email = \(newEmail), name = \(name ?? current.name), organization_id = \(newOrganization), updated_at = now()
                WHERE id = \(id) AND NOT EXISTS (SELECT 1 FROM people o WHERE o.email = \(newEmail) AND o.id <> \(id))
                RETURNING id
                """, logger: store.logger)
            guard try await rows.any() else { throw TicketsError.duplicate(field: "email") }
            try await store.audit(caller, "person.updated", .init(type: "person", id: id.uuidString.lowercased()), requestID: requestID, on: connection)
            return try await Self.find(id, store: store, on: connection)
        }
    }

    /// Removes a person no ticket names (as requester or CC). A person with tickets is kept (409
    /// `person_has_tickets`): their tickets would lose who asked; erasing a data subject is the
    /// data-subject process's job, not a plain removal. A portal user's person is created again
    /// the next time they use the helpdesk.
    func remove(_ caller: Caller, id: UUID, requestID: String) async throws {
        try await store.database.withTenant(caller.tenant) { connection in
            try await Self.changingPeople(tenant: caller.tenant, store: store, on: connection)
            let locked = try await connection.query("SELECT 1 FROM people WHERE id = \(id) FOR UPDATE", logger: store.logger)
            guard try await locked.any() else { throw TicketsError.notFound(resource: "person") }
            let tickets = try await connection.query("""
                SELECT count(*)::integer FROM tickets WHERE requester_id = \(id) OR cc_ids @> ARRAY[\(id)]::uuid[]
                """, logger: store.logger).integer()
            guard tickets == 0 else {
                throw TicketsError.inUse(code: "person_has_tickets",
                                         detail: "\(tickets) tickets (open, closed or in the recycle bin) name this person as requester or CC; they cannot simply be removed.")
            }
            try await connection.query("DELETE FROM people WHERE id = \(id)", logger: store.logger)
            try await store.audit(caller, "person.deleted", .init(type: "person", id: id.uuidString.lowercased()), requestID: requestID, on: connection)
        }
    }

    /// Merges person `source` into `target` (the same customer entered twice): the tickets
    /// `source` requested or was CC'd on name `target` instead (each changes version), `target`
    /// takes `source`'s email, portal user and organization where it has none, and `source` is
    /// removed. Two portal users cannot become one person (409 `people_both_portal_users`).
    func merge(_ caller: Caller, _ source: UUID, into target: UUID, requestID: String) async throws -> Person {
        guard source != target else { throw TicketsError.invalidInput([.init(field: "into", message: "Another person.")]) }
        return try await store.database.withTenant(caller.tenant) { connection in
            try await Self.changingPeople(tenant: caller.tenant, store: store, on: connection)
            // Both rows locked in id order, so two merges of the same pair cannot deadlock.
            let rows = try await connection.query("""
                SELECT \(unescaped: Person.columns) FROM people WHERE id IN (\(source), \(target)) ORDER BY id FOR UPDATE
                """, logger: store.logger)
            let found = try await collect(rows) { try Person($0) }
            guard let from = found.first(where: { $0.id == source }) else { throw TicketsError.notFound(resource: "person") }
            guard let into = found.first(where: { $0.id == target }) else {
                throw TicketsError.invalidInput([.init(field: "into", message: "No such person.")])
            }
            guard from.userID == nil || into.userID == nil else {
                throw TicketsError.inUse(code: "people_both_portal_users", detail: "Both people are portal users; each keeps their own sign-in, so they cannot be merged.")
            }
            let requested = try await connection.query("""
                WITH moved AS (UPDATE tickets SET requester_id = \(target), updated_at = now(), version = version + 1
                               WHERE requester_id = \(source) RETURNING 1)
                SELECT count(*)::integer FROM moved
                """, logger: store.logger).integer()
            let copied = try await connection.query("""
                WITH moved AS (UPDATE tickets SET cc_ids = ARRAY(SELECT DISTINCT unnest(array_replace(cc_ids, \(source), \(target)))),
                                      updated_at = now(), version = version + 1
                               WHERE cc_ids @> ARRAY[\(source)]::uuid[] RETURNING 1)
                SELECT count(*)::integer FROM moved
                """, logger: store.logger).integer()
            // The source goes first: its email and user id are unique and move to the target.
            try await connection.query("DELETE FROM people WHERE id = \(source)", logger: store.logger)
            try await connection.query("""
                UPDATE people SET email = COALESCE(email, \(from.email)), user_id = COALESCE(user_id, \(from.userID)),
                    organization_id = COALESCE(organization_id, \(from.organizationID)), updated_at = now()
                WHERE id = \(target)
                """, logger: store.logger)
            try await store.audit(caller, "person.merged", .init(type: "person", id: target.uuidString.lowercased()),
                                  changes: ["merged_from": [nil, source.uuidString.lowercased()], "tickets_requested": [nil, String(requested)],
                                            "tickets_cc": [nil, String(copied)]],
                                  requestID: requestID, on: connection)
            return try await Self.find(target, store: store, on: connection)
        }
    }

    static func requireOrganization(_ id: UUID?, store: TicketStore, on connection: PostgresConnection) async throws {
        guard let id else { return }
        let rows = try await connection.query("SELECT 1 FROM organizations WHERE id = \(id)", logger: store.logger)
        guard try await rows.any() else {
            throw TicketsError.invalidInput([.init(field: "organization_id", message: "No such organization.")])
        }
    }

    // MARK: Organizations

    func organizations(_ caller: Caller, after: UUID?, limit: Int) async throws -> [Organization] {
        try await store.database.withTenant(caller.tenant) { connection in
            let rows = try await connection.query("""
                SELECT id, name, created_at, updated_at FROM organizations WHERE (\(after)::uuid IS NULL OR id > \(after)) ORDER BY id LIMIT \(limit)
                """, logger: store.logger)
            var result: [Organization] = []
            for try await (id, name, created, updated) in rows.decode((UUID, String, Date, Date).self) {
                result.append(Organization(id: id, name: name, createdAt: created, updatedAt: updated))
            }
            return result
        }
    }

    func organization(_ caller: Caller, id: UUID) async throws -> Organization {
        guard let found = try await organizations(caller, matching: id) else { throw TicketsError.notFound(resource: "organization") }
        return found
    }

    private func organizations(_ caller: Caller, matching id: UUID) async throws -> Organization? {
        try await store.database.withTenant(caller.tenant) { connection in
            let rows = try await connection.query("SELECT id, name, created_at, updated_at FROM organizations WHERE id = \(id)", logger: store.logger)
            for try await (id, name, created, updated) in rows.decode((UUID, String, Date, Date).self) {
                return Organization(id: id, name: name, createdAt: created, updatedAt: updated)
            }
            return nil
        }
    }

    /// Creates (`id` nil) or renames an organization; names are unique in the tenant. A rename
    /// locks the row and passes the organization as stored to `check`, which may refuse it.
    func saveOrganization(_ caller: Caller, id: UUID?, name: String, requestID: String,
                          check: (Organization) throws -> Void = { _ in }) async throws -> Organization {
        let target = id ?? UUIDv7.make()
        try await store.database.withTenant(caller.tenant) { connection in
            let rows: PostgresRowSequence
            if let id {
                let locked = try await connection.query("SELECT id, name, created_at, updated_at FROM organizations WHERE id = \(id) FOR NO KEY UPDATE",
                                                        logger: store.logger)
                var stored: Organization?
                for try await (id, name, created, updated) in locked.decode((UUID, String, Date, Date).self) {
                    stored = Organization(id: id, name: name, createdAt: created, updatedAt: updated)
                }
                guard let stored else { throw TicketsError.notFound(resource: "organization") }
                try check(stored)
            }
            if id == nil {
                rows = try await connection.query("""
                    INSERT INTO organizations (id, tenant_id, name) VALUES (\(target), \(caller.tenant.rawValue), \(name))
                    ON CONFLICT DO NOTHING RETURNING id
                    """, logger: store.logger)
            } else {
                rows = try await connection.query("""
                    UPDATE organizations SET name = \(name), updated_at = now()
                    WHERE id = \(target) AND NOT EXISTS (SELECT 1 FROM organizations o WHERE o.name = \(name) AND o.id <> \(target))
                    RETURNING id
                    """, logger: store.logger)
            }
            guard try await rows.any() else { throw TicketsError.duplicate(field: "name") }
            try await store.audit(caller, id == nil ? "organization.created" : "organization.updated",
                                  .init(type: "organization", id: target.uuidString.lowercased()), requestID: requestID, on: connection)
        }
        return try await organization(caller, id: target)
    }

    /// Removes an organization: its people are detached (they stay, without an organization) and
    /// its tickets no longer record it, so organization-wide visibility of them ends; requesters
    /// keep seeing their own. Detached tickets change version; one audit event has the counts.
    func removeOrganization(_ caller: Caller, id: UUID, requestID: String) async throws {
        try await store.database.withTenant(caller.tenant) { connection in
            let locked = try await connection.query("SELECT name FROM organizations WHERE id = \(id) FOR UPDATE", logger: store.logger)
            var name: String?
            for try await value in locked.decode(String.self) { name = value }
            guard let name else { throw TicketsError.notFound(resource: "organization") }
            let people = try await connection.query("""
                WITH detached AS (UPDATE people SET organization_id = NULL, updated_at = now() WHERE organization_id = \(id) RETURNING 1)
                SELECT count(*)::integer FROM detached
                """, logger: store.logger).integer()
            let tickets = try await connection.query("""
                WITH detached AS (UPDATE tickets SET organization_id = NULL, updated_at = now(), version = version + 1 WHERE organization_id = \(id) RETURNING 1)
                SELECT count(*)::integer FROM detached
                """, logger: store.logger).integer()
            try await connection.query("DELETE FROM organizations WHERE id = \(id)", logger: store.logger)
            try await store.audit(caller, "organization.deleted", .init(type: "organization", id: id.uuidString.lowercased(), label: name),
                                  changes: ["people_detached": [nil, String(people)], "tickets_detached": [nil, String(tickets)]],
                                  requestID: requestID, on: connection)
        }
    }

    /// Whether `table` has a row `id` (the table name is a constant of the caller's).
    static func exists(_ table: StaticString, _ id: UUID, store: TicketStore, on connection: PostgresConnection) async throws -> Bool {
        let rows = try await connection.query("SELECT 1 FROM \(unescaped: "\(table)") WHERE id = \(id)", logger: store.logger)
        return try await rows.any()
    }
}

/// A person named by email (and optionally name) in a request.
struct EmailInput: StrictBody, Sendable {
    var address: String
    var name: String?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case address = "email"
        case name
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let raw = try container.decode(String.self, forKey: .address).trimmingCharacters(in: .whitespaces).lowercased()
        guard Self.isEmail(raw) else {
            throw DecodingError.dataCorruptedError(forKey: .address, in: container, debugDescription: "not an email address")
        }
        address = raw
        name = try container.decodeIfPresent(String.self, forKey: .name)
        if let name, !(1...200).contains(name.count) {
            throw DecodingError.dataCorruptedError(forKey: .name, in: container, debugDescription: "1 to 200 characters")
        }
    }

    /// A plain `local@domain.tld` address of at most 254 characters.
    static func isEmail(_ text: String) -> Bool {
        text.count <= 254 && text.range(of: #"^[a-z0-9._%+\-]{1,64}@[a-z0-9-]+(\.[a-z0-9-]+)+$"#, options: .regularExpression) != nil
    }
}
