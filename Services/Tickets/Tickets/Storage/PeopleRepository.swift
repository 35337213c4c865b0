import Foundation
import PostgresNIO
import RampartCore

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

/// People and organizations, always inside the tenant's transaction.
struct PeopleRepository: Sendable {
    let store: TicketStore

    /// The person of a portal user, created (without an email) the first time they use the helpdesk.
    static func person(forUser user: UUID, tenant: TenantID, store: TicketStore, on connection: PostgresConnection) async throws -> (UUID, UUID?) {
        let fresh = UUIDv7.make()
        try await connection.query("""
            INSERT INTO people (id, tenant_id, name, user_id) VALUES (\(fresh), \(tenant.rawValue), 'Portal user', \(user))
            ON CONFLICT (tenant_id, user_id) DO NOTHING
            """, logger: store.logger)
        let rows = try await connection.query("SELECT id, organization_id FROM people WHERE user_id = \(user)", logger: store.logger)
        for try await (id, organization) in rows.decode((UUID, UUID?).self) { return (id, organization) }
        throw TicketsError.notFound(resource: "person")
    }

    /// The person with `email`, created with `name` when there is none (staff naming a requester or CC).
    static func person(email: EmailInput, tenant: TenantID, store: TicketStore, on connection: PostgresConnection) async throws -> UUID {
        let fresh = UUIDv7.make()
        try await connection.query("""
            INSERT INTO people (id, tenant_id, email, name) VALUES (\(fresh), \(tenant.rawValue), \(email.address), \(email.name ?? email.address))
            ON CONFLICT (tenant_id, email) DO NOTHING
            """, logger: store.logger)
        let rows = try await connection.query("SELECT id FROM people WHERE email = \(email.address)", logger: store.logger)
        for try await id in rows.decode(UUID.self) { return id }
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

    func update(_ caller: Caller, id: UUID, email: Patch<String>, name: String?, organization: Patch<UUID>, requestID: String) async throws -> Person {
        try await store.database.withTenant(caller.tenant) { connection in
            let current = try await Self.find(id, store: store, on: connection)
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

    /// Creates (`id` nil) or renames an organization; names are unique in the tenant.
    func saveOrganization(_ caller: Caller, id: UUID?, name: String, requestID: String) async throws -> Organization {
        let target = id ?? UUIDv7.make()
        try await store.database.withTenant(caller.tenant) { connection in
            let rows: PostgresRowSequence
            if id == nil {
                rows = try await connection.query("""
                    INSERT INTO organizations (id, tenant_id, name) VALUES (\(target), \(caller.tenant.rawValue), \(name))
                    ON CONFLICT DO NOTHING RETURNING id
                    """, logger: store.logger)
            } else {
                guard try await Self.exists("organizations", target, store: store, on: connection) else { throw TicketsError.notFound(resource: "organization") }
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
