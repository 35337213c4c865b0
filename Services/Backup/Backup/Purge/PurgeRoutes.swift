import Foundation
import Hummingbird
import RampartCore
import RampartSecurity
import RampartTransport

/// Operators' tenant purges (`rampartctl tenant purge|purges`): start one, list them, show one
/// with its deletion certificate.
struct PurgeRoutes: Sendable {
    /// `nil` when this instance is not configured to purge (no endpoints, signing key or ledger).
    let purger: TenantPurger?
    let jobs: PurgeJobRepository

    struct PurgeRequest: Decodable {
        var tenantID: UUID
        var immediately: Bool?

        enum CodingKeys: String, CodingKey {
            case immediately
            case tenantID = "tenant_id"
        }
    }

    struct Jobs: ResponseEncodable {
        var data: [PurgeJob]
    }

    func register(on router: Router<ServiceRequestContext>) {
        let group = router.group("/internal/v1/backup/purges")
        group.post { request, context -> EditedResponse<PurgeJob> in
            let name = try Self.operatorName(context)
            let body = try await JSONRequestBody.decode(PurgeRequest.self, from: request)
            guard let purger else {
                throw ProblemError(status: .conflict, code: "purge_not_configured", title: "Purges not configured",
                                   detail: "This instance has no RAMPART_BACKUP_ENDPOINTS, RAMPART_BACKUP_SIGNING_KEY or RAMPART_ERASURE_LEDGER.")
            }
            let job = try await purger.request(tenant: TenantID(rawValue: body.tenantID), immediately: body.immediately ?? false, operatorName: name)
            return EditedResponse(status: job.state == .completed ? .ok : .accepted, response: job)
        }
        group.get { _, context -> Jobs in
            _ = try Self.operatorName(context)
            return Jobs(data: try await jobs.recent(limit: 100))
        }
        group.get("{id}") { _, context -> PurgeJob in
            _ = try Self.operatorName(context)
            guard let raw = context.parameters.get("id"), let id = UUID(uuidString: raw), let job = try await jobs.find(id: id) else {
                throw ProblemError(status: .notFound, code: "purge_not_found", title: "No such purge")
            }
            return job
        }
    }

    static func operatorName(_ context: ServiceRequestContext) throws -> String {
        guard case .operator(let name) = context.caller else {
            throw ProblemError(status: .forbidden, code: "caller_not_allowed", title: "Caller not allowed")
        }
        return name
    }
}

extension PurgeJob: ResponseEncodable {}
