import Foundation
import PostgresNIO
import RampartCore
import RampartSecurity

/// A ticket list or search: filters, sort, keyset cursor and page size, validated from the query string.
struct TicketQuery: Sendable {
    enum Sort: String, Sendable, CaseIterable {
        case updatedDescending = "-updated_at"
        case updatedAscending = "updated_at"
        case createdDescending = "-created_at"
        case createdAscending = "created_at"

        /// Constant SQL: the column, its order and the keyset comparison.
        var column: String { rawValue.hasSuffix("updated_at") ? "updated_at" : "created_at" }
        var order: String { rawValue.hasPrefix("-") ? "DESC" : "ASC" }
        var comparison: String { rawValue.hasPrefix("-") ? "<" : ">" }
    }

    /// Where the previous page ended: the sort key (microseconds since 1970) and id of its last ticket.
    struct Cursor: Codable, Sendable, Equatable {
        var sort: String
        var key: Int64
        var id: UUID

        enum CodingKeys: String, CodingKey {
            case sort = "s", key = "k", id = "i"
        }

        var encoded: String { Base64URL.encode((try? JSONEncoder().encode(self)) ?? Data()) }

        init(sort: String, key: Int64, id: UUID) {
            self.sort = sort
            self.key = key
            self.id = id
        }

        init(_ text: String, sort: Sort) throws {
            guard text.count <= 200, let data = Base64URL.decode(text), let cursor = try? JSONDecoder().decode(Cursor.self, from: data),
                  cursor.sort == sort.rawValue else { throw TicketsError.invalidCursor }
            self = cursor
        }
    }

    var statuses: [String]?
    var priorities: [String]?
    var department: UUID?
    var assignee: UUID?
    /// `assignee=none`: only tickets nobody is assigned to.
    var unassigned = false
    var requester: UUID?
    var organization: UUID?
    var label: String?
    var updatedSince: Date?
    var deleted = false
    var sort = Sort.updatedDescending
    var cursor: Cursor?
    var limit = 25
    /// Search: every word must occur in the subject or a message (notes only for staff).
    var words: [String]?

    static let maximumLimit = 100
    /// The query parameters a list understands; anything else is refused (400).
    static let parameters: Set<String> = [
        "status", "priority", "department", "assignee", "requester", "organization", "label", "updated_since", "deleted", "sort", "cursor", "limit",
    ]

    /// Reads and checks the query string; each bad parameter is a field error.
    init(_ parameters: [(String, String)], search: Bool) throws {
        var errors: [ProblemDetailsField] = []
        let allowed = search ? Self.parameters.union(["q"]) : Self.parameters
        var values: [String: String] = [:]
        for (name, value) in parameters {
            guard allowed.contains(name) else {
                errors.append(.init(field: name, message: "Unknown query parameter."))
                continue
            }
            guard values[name] == nil else {
                errors.append(.init(field: name, message: "Give this parameter once."))
                continue
            }
            values[name] = value
        }
        func uuid(_ name: String) -> UUID? {
            guard let raw = values[name] else { return nil }
            guard let id = UUID(uuidString: raw) else { errors.append(.init(field: name, message: "Not an id.")); return nil }
            return id
        }
        func list<T: RawRepresentable>(_ name: String, _ type: T.Type) -> [String]? where T.RawValue == String {
            guard let raw = values[name] else { return nil }
            let items = raw.split(separator: ",").map(String.init)
            guard !items.isEmpty, items.allSatisfy({ T(rawValue: $0) != nil }) else {
                errors.append(.init(field: name, message: "A comma-separated list of allowed values."))
                return nil
            }
            return items
        }
        statuses = list("status", TicketStatus.self)
        priorities = list("priority", TicketPriority.self)
        department = uuid("department")
        if values["assignee"] == "none" {
            unassigned = true
        } else {
            assignee = uuid("assignee")
        }
        requester = uuid("requester")
        organization = uuid("organization")
        label = values["label"]?.lowercased()
        if let raw = values["updated_since"] {
            updatedSince = Timestamp.parse(raw)
            if updatedSince == nil { errors.append(.init(field: "updated_since", message: "An RFC 3339 time, e.g. 2026-05-01T12:00:00Z.")) }
        }
        if let raw = values["deleted"] {
            guard raw == "true" || raw == "false" else { throw TicketsError.invalidInput([.init(field: "deleted", message: "true or false.")]) }
            deleted = raw == "true"
        }
        if let raw = values["sort"] {
            if let value = Sort(rawValue: raw) { sort = value } else {
                errors.append(.init(field: "sort", message: "One of \(Sort.allCases.map(\.rawValue).joined(separator: ", ")).") )
            }
        }
        if let raw = values["limit"] {
            if let value = Int(raw), (1...Self.maximumLimit).contains(value) { limit = value } else {
                errors.append(.init(field: "limit", message: "1 to \(Self.maximumLimit)."))
            }
        }
        if search {
            let terms = SearchTerms.words(in: values["q"] ?? "")
            if terms.isEmpty || terms.count > SearchIndex.maximumQueryWords {
                errors.append(.init(field: "q", message: "1 to \(SearchIndex.maximumQueryWords) words of at least 2 letters or digits."))
            }
            words = terms
        }
        guard errors.isEmpty else { throw TicketsError.invalidInput(errors) }
        if let raw = values["cursor"] { cursor = try Cursor(raw, sort: sort) }
    }
}

typealias ProblemDetailsField = ProblemDetails.FieldError

extension TicketRepository {
    /// One page of the tickets `query` selects among those the caller reaches, and the cursor of the next page.
    func list(_ caller: Caller, _ query: TicketQuery) async throws -> (tickets: [TicketView], next: TicketQuery.Cursor?) {
        try await store.database.withTenant(caller.tenant) { connection in
            let viewer = try await Viewer.resolve(caller, store: store, on: connection)
            let tokens = try await query.words.asyncMap { try await search.tokens($0, tenant: caller.tenant) }
            let sort = query.sort
            let rows = try await connection.query("""
                SELECT \(unescaped: Self.columns), (extract(epoch FROM t.\(unescaped: sort.column)) * 1000000)::bigint AS sort_key
                FROM tickets t LEFT JOIN people p ON p.id = t.requester_id
                WHERE (t.deleted_at IS NOT NULL) = \(query.deleted)
                  AND ticket_visible(\(viewer.reach), \(viewer.agent), \(viewer.person), \(viewer.organization), t.department_id, t.assignee_id, t.requester_id, t.organization_id)
                  AND (\(query.statuses)::text[] IS NULL OR t.status = ANY(\(query.statuses)))
                  AND (\(query.priorities)::text[] IS NULL OR t.priority = ANY(\(query.priorities)))
                  AND (\(query.department)::uuid IS NULL OR t.department_id = \(query.department))
                  AND (\(query.assignee)::uuid IS NULL OR t.assignee_id = \(query.assignee))
                  AND (NOT \(query.unassigned) OR t.assignee_id IS NULL)
                  AND (\(query.requester)::uuid IS NULL OR t.requester_id = \(query.requester))
                  AND (\(query.organization)::uuid IS NULL OR t.organization_id = \(query.organization))
                  AND (\(query.label)::text IS NULL OR \(query.label) = ANY(t.labels))
                  AND (\(query.updatedSince)::timestamptz IS NULL OR t.updated_at >= \(query.updatedSince))
                  AND (\(tokens)::bytea[] IS NULL OR t.id IN (
                        SELECT s.ticket_id FROM search_tokens s
                        WHERE s.token = ANY(\(tokens)) AND (NOT s.internal OR \(caller.isStaff))
                        GROUP BY s.ticket_id HAVING count(DISTINCT s.token) = \(tokens?.count ?? 0)))
                  AND (\(query.cursor?.key)::bigint IS NULL
                       OR (t.\(unescaped: sort.column), t.id) \(unescaped: sort.comparison)
                          ('epoch'::timestamptz + \(query.cursor?.key)::bigint * interval '1 microsecond', \(query.cursor?.id)::uuid))
                ORDER BY t.\(unescaped: sort.column) \(unescaped: sort.order), t.id \(unescaped: sort.order)
                LIMIT \(query.limit + 1)
                """, logger: store.logger)
            let page = try await collect(rows) { row in (try await view(row, tenant: caller.tenant), try row.get("sort_key", as: Int64.self)) }
            let next = page.count > query.limit ? page[query.limit - 1] : nil
            return (page.prefix(query.limit).map { $0.0 }, next.map { TicketQuery.Cursor(sort: sort.rawValue, key: $0.1, id: $0.0.id) })
        }
    }
}
