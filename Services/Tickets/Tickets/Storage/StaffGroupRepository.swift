import Foundation
import PostgresNIO
import RampartCore
import RampartStorage
import RampartTransport

/// A department (with its SLA) or an agent team, with its agents.
struct StaffGroup: Encodable, Sendable {
    var id: UUID
    var name: String
    /// Departments only: minutes until the first response and the resolution are due.
    var firstResponseMinutes: Int?
    var resolutionMinutes: Int?
    var agentIDs: [UUID]
    var createdAt: Date

    enum CodingKeys: String, CodingKey {
        case id, name
        case firstResponseMinutes = "first_response_minutes"
        case resolutionMinutes = "resolution_minutes"
        case agentIDs = "agent_ids"
        case createdAt = "created_at"
    }

    /// Versions of the group's content (nothing stored): its details (name, SLA targets), its
    /// members, and the whole group (the API's `ETag`). The console's two forms each carry the
    /// version of their part, so a save of one part is not refused for a change of the other.
    var detailsVersion: String { EntityTag.version(of: [name, firstResponseMinutes.map(String.init), resolutionMinutes.map(String.init)]) }
    var membersVersion: String { EntityTag.version(of: agentIDs.map(\.uuidString).sorted()) }
    var version: String { EntityTag.version(of: [detailsVersion, membersVersion]) }
}

/// Departments and teams: the same shape (a named set of agents), different tables.
struct StaffGroupRepository: Sendable {
    enum Kind: String, Sendable {
        case department
        case team

        /// Constant SQL names of the kind's tables.
        var table: String { self == .department ? "departments" : "teams" }
        var memberTable: String { self == .department ? "department_agents" : "team_members" }
        var memberKey: String { self == .department ? "department_id" : "team_id" }
        /// The tickets column that names a group of this kind.
        var ticketColumn: String { memberKey }
        var slaColumns: String { self == .department ? "first_response_minutes, resolution_minutes" : "NULL::integer, NULL::integer" }
    }

    let store: TicketStore
    let kind: Kind

    func list(_ caller: Caller, after: UUID?, limit: Int) async throws -> [StaffGroup] {
        try await store.database.withTenant(caller.tenant) { connection in
            try await groups(after: after, limit: limit, on: connection)
        }
    }

    func find(_ caller: Caller, id: UUID) async throws -> StaffGroup {
        try await store.database.withTenant(caller.tenant) { connection in try await find(id, on: connection) }
    }

    private func find(_ id: UUID, on connection: PostgresConnection) async throws -> StaffGroup {
        guard let group = try await groups(after: id, limit: 1, exact: true, on: connection).first else {
            throw TicketsError.notFound(resource: kind.rawValue)
        }
        return group
    }

    /// Groups after `after` in id order, or (`exact`) the one group `after`.
    private func groups(after: UUID?, limit: Int, exact: Bool = false, on connection: PostgresConnection) async throws -> [StaffGroup] {
        let rows = try await connection.query("""
            SELECT g.id, g.name, \(unescaped: kind.slaColumns), g.created_at,
                   COALESCE((SELECT array_agg(m.agent_id ORDER BY m.agent_id) FROM \(unescaped: kind.memberTable) m WHERE m.\(unescaped: kind.memberKey) = g.id), '{}')
            FROM \(unescaped: kind.table) g
            WHERE (\(exact) AND g.id = \(after)) OR (NOT \(exact) AND (\(after)::uuid IS NULL OR g.id > \(after)))
            ORDER BY g.id LIMIT \(limit)
            """, logger: store.logger)
        var result: [StaffGroup] = []
        for try await (id, name, firstResponse, resolution, created, agents) in rows.decode((UUID, String, Int?, Int?, Date, [UUID]).self) {
            result.append(StaffGroup(id: id, name: name, firstResponseMinutes: firstResponse, resolutionMinutes: resolution, agentIDs: agents, createdAt: created))
        }
        return result
    }

    /// Creates (`id` nil) or changes a group; `agents` (when given) replaces its members. A change
    /// locks the group's row first and passes the group as stored to `check`, which may refuse
    /// (a stale version); changes of one group so run one after another, none undoing another.
    func save(_ caller: Caller, id: UUID?, name: String?, firstResponseMinutes: Patch<Int>, resolutionMinutes: Patch<Int>,
              agents: [UUID]?, requestID: String, check: (StaffGroup) throws -> Void = { _ in }) async throws -> StaffGroup {
        try await store.database.withTenant(caller.tenant) { connection in
            let target = id ?? UUIDv7.make()
            let current = try await id.asyncMap { id in
                try await connection.query("SELECT 1 FROM \(unescaped: kind.table) WHERE id = \(id) FOR NO KEY UPDATE", logger: store.logger)
                return try await find(id, on: connection)
            }
            if let current { try check(current) }
            let newName = name ?? current?.name ?? ""
            let firstResponse = firstResponseMinutes.applied(to: current?.firstResponseMinutes)
            let resolution = resolutionMinutes.applied(to: current?.resolutionMinutes)
            let taken = try await connection.query("""
                SELECT 1 FROM \(unescaped: kind.table) WHERE name = \(newName) AND id <> \(target)
                """, logger: store.logger)
            guard try await !taken.any() else { throw TicketsError.duplicate(field: "name") }
            if current == nil {
                if kind == .department {
                    try await connection.query("""
                        INSERT INTO departments (id, tenant_id, name, first_response_minutes, resolution_minutes)
                        VALUES (\(target), \(caller.tenant.rawValue), \(newName), \(firstResponse), \(resolution))
                        """, logger: store.logger)
                } else {
                    try await connection.query("INSERT INTO teams (id, tenant_id, name) VALUES (\(target), \(caller.tenant.rawValue), \(newName))", logger: store.logger)
                }
            } else if kind == .department {
                try await connection.query("""
                    UPDATE departments SET name = \(newName), first_response_minutes = \(firstResponse), resolution_minutes = \(resolution) WHERE id = \(target)
                    """, logger: store.logger)
            } else {
                try await connection.query("UPDATE teams SET name = \(newName) WHERE id = \(target)", logger: store.logger)
            }
            if let agents {
                try await connection.query("DELETE FROM \(unescaped: kind.memberTable) WHERE \(unescaped: kind.memberKey) = \(target)", logger: store.logger)
                try await connection.query("""
                    INSERT INTO \(unescaped: kind.memberTable) (tenant_id, \(unescaped: kind.memberKey), agent_id)
                    SELECT \(caller.tenant.rawValue), \(target), unnest(\(Array(Set(agents))))
                    """, logger: store.logger)
            }
            var changes: [String: [String?]] = [:]
            if let agents { changes["agent_ids"] = [current.map { $0.agentIDs.map(\.uuidString).sorted().joined(separator: ",") }, agents.map(\.uuidString).sorted().joined(separator: ",")] }
            try await store.audit(caller, "\(kind.rawValue).\(current == nil ? "created" : "updated")",
                                  .init(type: kind.rawValue, id: target.uuidString.lowercased(), label: newName),
                                  changes: changes.isEmpty ? nil : changes, requestID: requestID, on: connection)
            return try await find(target, on: connection)
        }
    }

    /// Removes a group; its tickets (open, closed or in the recycle bin) move to `moveTo`. A
    /// department that still has tickets needs `moveTo` (409 `department_in_use`): a ticket
    /// without a department drops out of its agents' reach, which an admin should decide with
    /// eyes open. A team's tickets without `moveTo` simply lose their team (teams grant no reach).
    /// Moved tickets take the new department's SLA, like a `PATCH` of `department`, and change
    /// version. Members go with the group; one audit event records the move.
    func remove(_ caller: Caller, id: UUID, moveTo: UUID?, requestID: String) async throws {
        try await store.database.withTenant(caller.tenant) { connection in
            // Taken first, so no ticket can start referring to the group while it goes.
            let locked = try await connection.query("SELECT name FROM \(unescaped: kind.table) WHERE id = \(id) FOR UPDATE", logger: store.logger)
            var name: String?
            for try await value in locked.decode(String.self) { name = value }
            guard let name else { throw TicketsError.notFound(resource: kind.rawValue) }
            if let moveTo {
                guard moveTo != id, try await !groups(after: moveTo, limit: 1, exact: true, on: connection).isEmpty else {
                    throw TicketsError.invalidInput([.init(field: "move_to", message: "Another existing \(kind.rawValue) of this tenant.")])
                }
            }
            let count = try await connection.query("""
                SELECT count(*)::integer FROM tickets WHERE \(unescaped: kind.ticketColumn) = \(id)
                """, logger: store.logger).integer()
            if kind == .department, count > 0, moveTo == nil {
                throw TicketsError.inUse(code: "department_in_use", detail: "\(count) tickets (open, closed or in the recycle bin) are in this department; give move_to to move them to another one.")
            }
            if count > 0 {
                if kind == .department {
                    try await connection.query("""
                        UPDATE tickets t SET department_id = d.id,
                            first_response_due_at = t.created_at + make_interval(mins => d.first_response_minutes),
                            resolution_due_at = t.created_at + make_interval(mins => d.resolution_minutes),
                            updated_at = now(), version = t.version + 1
                        FROM departments d WHERE d.id = \(moveTo) AND t.department_id = \(id)
                        """, logger: store.logger)
                } else {
                    try await connection.query("""
                        UPDATE tickets SET team_id = \(moveTo), updated_at = now(), version = version + 1 WHERE team_id = \(id)
                        """, logger: store.logger)
                }
            }
            try await connection.query("DELETE FROM \(unescaped: kind.table) WHERE id = \(id)", logger: store.logger)
            try await store.audit(caller, "\(kind.rawValue).deleted", .init(type: kind.rawValue, id: id.uuidString.lowercased(), label: name),
                                  changes: ["tickets_moved": [nil, String(count)], "move_to": [nil, moveTo?.uuidString.lowercased()]].filter { $0.value[1] != nil },
                                  requestID: requestID, on: connection)
        }
    }
}
