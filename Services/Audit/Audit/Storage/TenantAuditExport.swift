import Foundation
import RampartCore
import RampartSecurity
import RampartTransport

/// Audit's part of a tenant export: the tenant's events as the query API shows them to an admin
/// (personal parts opened, erased people's hidden), newest first; the cursor is a sequence number.
struct TenantAuditExport: TenantDataExporter {
    let store: EventStore

    var entities: [String] { ["events"] }

    func page(_ entity: String, tenant: TenantID, after cursor: String?, limit: Int) async throws -> TenantExportPage {
        let before = try cursor.map { raw in
            guard let seq = Int64(raw) else {
                throw ProblemError(status: .badRequest, code: "invalid_page", title: "Invalid page", detail: "The cursor is the previous page's.")
            }
            return seq
        }
        let events = try await store.events(tenant: tenant, filter: EventFilter(), before: before, limit: limit)
        let encoder = AuditChain.encoder()
        return TenantExportPage(rows: try events.map { try encoder.encode($0) },
                                next: events.count == limit ? events.last.map { String($0.seq) } : nil)
    }
}
