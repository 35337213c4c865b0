import Foundation
import PostgresNIO
import RampartCore
import RampartSecurity
import RampartStorage

/// One table of a tenant's export: which columns leave (an explicit projection, so a secret
/// column added later stays in), which sealed columns are opened into which fields, paged by id
/// under row-level security.
public struct TenantExportTable: Sendable {
    /// A column sealed with the tenant's data key (``SealContext`` column `context`), exported opened as `field`.
    public struct SealedField: Sendable {
        public var column: String
        public var context: String
        public var field: String
        /// Whether the opened text is JSON, exported as a value rather than a string.
        public var isJSON: Bool

        public init(column: String, context: String, field: String, isJSON: Bool = false) {
            self.column = column
            self.context = context
            self.field = field
            self.isJSON = isJSON
        }
    }

    public var entity: String
    /// The table, read with the alias `t`.
    public var table: String
    /// A `jsonb` expression over `t`: the exported columns. A constant of the code, never input.
    public var projection: String
    public var sealed: [SealedField]

    /// Pages stop growing past this many bytes, whatever the limit.
    static let maximumPageBytes = 4 * 1024 * 1024

    public init(entity: String, table: String, projection: String, sealed: [SealedField] = []) {
        self.entity = entity
        self.table = table
        self.projection = projection
        self.sealed = sealed
    }

    /// Up to `limit` rows with ids after `cursor`, in id order, opened with the tenant's key.
    public func page(tenant: TenantID, after cursor: String?, limit: Int, database: Database, keyring: TenantKeyring?) async throws -> TenantExportPage {
        let after = try cursor.map { raw in
            guard let id = UUID(uuidString: raw) else {
                throw ProblemError(status: .badRequest, code: "invalid_page", title: "Invalid page", detail: "The cursor is the previous page's.")
            }
            return id
        } ?? UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
        let columns = sealed.map { ", t.\($0.column)" }.joined()
        let rows: [(UUID, String, [Data?])] = try await database.withTenant(tenant) { connection in
            let result = try await connection.query("""
                SELECT t.id, (\(unescaped: projection))::text\(unescaped: columns) FROM \(unescaped: table) t
                WHERE t.id > \(after) ORDER BY t.id LIMIT \(limit)
                """, logger: database.logger)
            var rows: [(UUID, String, [Data?])] = []
            for try await row in result {
                let cells = row.makeRandomAccess()
                rows.append((try cells[0].decode(UUID.self), try cells[1].decode(String.self),
                             try (0..<sealed.count).map { try cells[2 + $0].decode(Data?.self) }))
            }
            return rows
        }
        var lines: [Data] = []
        var bytes = 0
        var last: UUID?
        for (id, json, sealedValues) in rows {
            var object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] ?? [:]
            for (field, value) in zip(sealed, sealedValues) {
                guard let value, let keyring else {
                    object[field.field] = NSNull()
                    continue
                }
                let opened = try await keyring.open(value, tenant: tenant, context: SealContext(table: table, column: field.context, rowID: id.uuidString.lowercased()))
                object[field.field] = field.isJSON ? try JSONSerialization.jsonObject(with: opened) : String(decoding: opened, as: UTF8.self)
            }
            let line = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
            lines.append(line)
            bytes += line.count
            last = id
            if bytes >= Self.maximumPageBytes { break }
        }
        let more = lines.count < rows.count || rows.count == limit
        return TenantExportPage(rows: lines, next: more ? last?.uuidString.lowercased() : nil)
    }
}
