import Foundation
import Hummingbird
import RampartCore
import RampartSecurity
import RampartTransport

/// The operator API of audit (`rampartctl audit …`, allow-listed for operator certificates only):
/// a tenant's stored chain and checkpoints, exactly as stored, for `rampartctl audit verify` to
/// recompute with the checkpoint public key it holds; and a checkpoint run on demand.
struct OperatorAuditRoutes: Sendable {
    let store: EventStore
    let checkpointer: Checkpointer

    static let maximumPage = 5000

    struct RowsPage: Encodable {
        var rows: [AuditChainVerifier.Row]
        var nextAfterSeq: Int64?

        enum CodingKeys: String, CodingKey {
            case rows
            case nextAfterSeq = "next_after_seq"
        }
    }

    func register(on router: Router<ServiceRequestContext>) {
        let group = router.group("/internal/v1/operator/audit")
        group.get("/tenants/{tenant}/events") { request, context -> Response in
            try AuditRequest.requireOperator(context)
            let tenant = try Self.tenant(context)
            let after = try request.uri.queryParameters.get("after_seq").map { raw -> Int64 in
                guard let value = Int64(raw), value >= 0 else { throw AuditError.invalidQuery(field: "after_seq", message: "must be a whole number").problem }
                return value
            } ?? 0
            let limit = min(Self.maximumPage, request.uri.queryParameters.get("limit").flatMap(Int.init).map { max(1, $0) } ?? Self.maximumPage)
            let rows = try await store.chainRows(tenant: tenant, afterSeq: after, limit: limit)
            return try AuditRequest.json(RowsPage(rows: rows, nextAfterSeq: rows.count == limit ? rows.last?.seq : nil))
        }
        group.get("/tenants/{tenant}/checkpoints") { _, context -> Response in
            try AuditRequest.requireOperator(context)
            let tenant = try Self.tenant(context)
            return try AuditRequest.json(["checkpoints": try await checkpointer.checkpoints(tenant: tenant)])
        }
        group.post("/checkpoints") { _, context -> Response in
            try AuditRequest.requireOperator(context)
            let created = try await checkpointer.run(now: .now)
            context.logger.info("audit.checkpoints.run", metadata: ["caller": "\(context.caller.map { "\($0)" } ?? "none")", "created": "\(created)"])
            return try AuditRequest.json(["created": created])
        }
    }

    static func tenant(_ context: ServiceRequestContext) throws -> TenantID {
        guard let raw = context.parameters.get("tenant"), let tenant = TenantID(raw) else {
            throw AuditError.invalidQuery(field: "tenant", message: "must be a tenant id").problem
        }
        return tenant
    }
}

extension AuditRequest {
    /// The allow-list admits operators only to these routes; this states it again in the code.
    static func requireOperator(_ context: ServiceRequestContext) throws {
        guard case .operator = context.caller else {
            throw ProblemError(status: .forbidden, code: "caller_not_allowed", title: "Caller not allowed", detail: "Only operators use this route.")
        }
    }
}
