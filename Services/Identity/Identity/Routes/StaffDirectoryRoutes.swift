import Foundation
import Hummingbird
import RampartCore
import RampartTransport

/// `GET /internal/v1/staff-directory/{tenant}?after={id}&limit={n}`: the tenant's staff — admins,
/// agents and read-only agents — as a colleague sees them (id, name, role, whether they may sign
/// in), so tickets' agent console and audit's log viewer can show people by name; they know them
/// by id only.
/// Never customers, never email addresses. Read inside the tenant's transaction (row-level
/// security), so another tenant's id lists that tenant's staff and nothing of this one; a tenant
/// this region does not hold lists nobody.
///
/// Only tickets and audit may call it: the allow-list admits them to this prefix alone (not to the
/// `/internal/v1/tenants/` routes backup uses), and the route checks the caller again.
/// Paged by id: at most ``maximumLimit`` a page; `next` is the `after` of the following page.
struct StaffDirectoryRoutes: Sendable {
    let users: UserRepository

    static let maximumLimit = 500
    /// The services that show staff by name: tickets' console and audit's log viewer.
    static let callers: Set<ServiceName> = [.tickets, .audit]

    struct Page: ResponseEncodable {
        var data: [StaffMember]
        /// The last id of a full page, to ask for the next; absent on the last page.
        var next: UUID?
    }

    func register(on router: Router<ServiceRequestContext>) {
        router.get("/internal/v1/staff-directory/{tenant}") { request, context -> Page in
            guard case .service(let service, _) = context.caller, Self.callers.contains(service) else {
                throw ProblemError(status: .forbidden, code: "caller_not_allowed", title: "Caller not allowed")
            }
            let tenant = try TenantLifecycleRoutes.tenantID(context)
            let query = request.uri.queryParameters
            var after: UUID?
            if let raw = query.get("after") {
                guard let id = UUID(uuidString: raw) else {
                    throw ProblemError(status: .badRequest, code: "invalid_cursor", title: "Invalid cursor", detail: "after must be a user id.")
                }
                after = id
            }
            var limit = Self.maximumLimit
            if let raw = query.get("limit") {
                guard let value = Int(raw), (1...Self.maximumLimit).contains(value) else {
                    throw ProblemError(status: .badRequest, code: "invalid_limit", title: "Invalid limit",
                                       detail: "limit must be a whole number from 1 to \(Self.maximumLimit).")
                }
                limit = value
            }
            let members = try await users.staff(tenant: tenant, afterID: after, limit: limit)
            return Page(data: members, next: members.count == limit ? members.last?.id : nil)
        }
    }
}
