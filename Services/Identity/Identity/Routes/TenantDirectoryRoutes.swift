import Hummingbird
import RampartCore
import RampartTransport

/// `GET /internal/v1/tenant-directory/{slug}`: the gateway knows a tenant by the slug in its host
/// name, audit by its id. The gateway's audit trail of WAF blocks asks here, in the background,
/// which tenant a slug names before it sends the events. Only the gateway reaches it.
struct TenantDirectoryRoutes: Sendable {
    let tenants: TenantRepository

    /// What the gateway learns: the tenant's id, nothing else.
    struct Entry: ResponseEncodable {
        var tenantID: TenantID

        enum CodingKeys: String, CodingKey {
            case tenantID = "tenant_id"
        }
    }

    func register(on router: Router<ServiceRequestContext>) {
        router.get("/internal/v1/tenant-directory/{slug}") { _, context -> Entry in
            guard case .service(.gateway, _) = context.caller else {
                throw ProblemError(status: .forbidden, code: "caller_not_allowed", title: "Caller not allowed")
            }
            guard let slug = context.parameters.get("slug").flatMap(TenantSlug.init(rawValue:)),
                  let tenant = try await tenants.findForResolution(slug: slug)
            else { throw IdentityError.tenantNotFound.problem }
            return Entry(tenantID: tenant.id)
        }
    }
}
