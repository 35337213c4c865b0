import Foundation
import PostgresNIO
import RampartCore
import RampartSecurity
import RampartStorage

extension EventStore {
    /// The stored rows of `tenant`'s chain after `afterSeq`, in order, exactly as stored, for
    /// `rampartctl audit verify` to recompute.
    public func chainRows(tenant: TenantID, afterSeq: Int64, limit: Int) async throws -> [AuditChainVerifier.Row] {
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            var rows: [AuditChainVerifier.Row] = []
            let query: PostgresQuery = """
                SELECT seq, record, encode(prev_hash, 'hex'), encode(hash, 'hex'), id, action, actor_type, actor_id,
                       resource_type, resource_id, outcome, occurred_at
                FROM events WHERE tenant_id = \(tenant.rawValue) AND seq > \(afterSeq)
                ORDER BY seq LIMIT \(limit)
                """
            for try await row in try await connection.query(query, logger: logger) {
                let (seq, record, prev, hash, id, action, actorType, actorID, resourceType, resourceID, outcome, occurredAt) =
                    try row.decode((Int64, String, String, String, UUID, String, String, String, String, String, String, Date).self)
                rows.append(AuditChainVerifier.Row(
                    seq: seq, record: record, prevHash: Hex.decode(prev) ?? Data(), hash: Hex.decode(hash) ?? Data(),
                    columns: .init(id: id, action: action, actorType: actorType, actorID: actorID, resourceType: resourceType,
                                   resourceID: resourceID, outcome: outcome, occurredAt: occurredAt)
                ))
            }
            return rows
        }
    }
}
