import Foundation
import Logging
import PostgresNIO
import RampartCore
import RampartSecurity
import RampartStorage

/// What every helpdesk repository works with: the region database, the tenant keyring that
/// seals bodies, subjects and files, and the region audit events are recorded in.
struct TicketStore: Sendable {
    let database: Database
    let keyring: TenantKeyring
    let region: Region

    var logger: Logger { database.logger }

    /// Seals `text` for one column of one row of `tenant`.
    func seal(_ text: String, tenant: TenantID, table: String, column: String, row: UUID) async throws -> Data {
        try await keyring.seal(Data(text.utf8), tenant: tenant, context: SealContext(table: table, column: column, rowID: row.uuidString.lowercased()))
    }

    /// Opens a value sealed by ``seal(_:tenant:table:column:row:)`` for the same place.
    func open(_ sealed: Data, tenant: TenantID, table: String, column: String, row: UUID) async throws -> String {
        let data = try await keyring.open(sealed, tenant: tenant, context: SealContext(table: table, column: column, rowID: row.uuidString.lowercased()))
        return String(decoding: data, as: UTF8.self)
    }

    /// Seals a ticket's custom-field values as one JSON object (nil when it has none).
    func sealCustomFields(_ values: [String: JSONValue], tenant: TenantID, ticket: UUID) async throws -> Data? {
        guard !values.isEmpty else { return nil }
        let json = String(decoding: try TicketsRequest.encoder.encode(values), as: UTF8.self)
        return try await seal(json, tenant: tenant, table: "tickets", column: "custom_fields", row: ticket)
    }

    /// Opens what ``sealCustomFields(_:tenant:ticket:)`` sealed.
    func openCustomFields(_ sealed: Data, tenant: TenantID, ticket: UUID) async throws -> [String: JSONValue] {
        let json = try await open(sealed, tenant: tenant, table: "tickets", column: "custom_fields", row: ticket)
        return try JSONDecoder().decode([String: JSONValue].self, from: Data(json.utf8))
    }

    /// Records `action` on `resource` in the outbox, inside the caller's transaction.
    func audit(_ caller: Caller, _ action: String, _ resource: AuditEvent.Resource, changes: [String: [String?]]? = nil,
               requestID: String, on connection: PostgresConnection) async throws {
        let event = AuditEvent(tenantID: caller.tenant, region: region, actor: caller.actor, action: action, resource: resource,
                               changes: changes, requestID: requestID, source: "api")
        try await AuditOutbox.append(event, on: connection, logger: logger)
    }

    /// The tenant's helpdesk settings (defaults when it never changed them).
    func settings(on connection: PostgresConnection) async throws -> TicketSettings {
        let rows = try await connection.query("""
            SELECT customers_see_organization, card_keep_first, card_keep_last, attachment_max_bytes, recycle_bin_days, closed_ticket_days,
                   erasure_ticket_content FROM settings
            """, logger: logger)
        for try await (organization, first, last, maxBytes, recycleBin, closed, erasure) in rows.decode((Bool, Int, Int, Int, Int, Int?, String).self) {
            return TicketSettings(customersSeeOrganization: organization, cardKeepFirst: first, cardKeepLast: last, attachmentMaxBytes: maxBytes,
                                  recycleBinDays: recycleBin, closedTicketDays: closed ?? 0, erasureTicketContent: ErasureTicketContent(rawValue: erasure) ?? .keep)
        }
        return TicketSettings()
    }
}

/// Runs `body` over every row of `rows`, collecting what it returns.
func collect<T>(_ rows: PostgresRowSequence, _ body: (PostgresRandomAccessRow) async throws -> T) async throws -> [T] {
    var result: [T] = []
    for try await row in rows { result.append(try await body(row.makeRandomAccess())) }
    return result
}

extension PostgresRandomAccessRow {
    /// The value of column `name`.
    func get<T: PostgresDecodable>(_ name: String, as type: T.Type = T.self) throws -> T {
        try self[name].decode(T.self)
    }
}

extension PostgresRowSequence {
    /// The first column of the first row as an integer (a `count(*)::integer`); 0 without rows.
    func integer() async throws -> Int {
        var value = 0
        for try await first in decode(Int.self) { value = first }
        return value
    }
}
