import Foundation
import Hummingbird
import RampartCore
import RampartSecurity
import RampartTransport

/// What the region's backup service asks identity while it purges tenants: the cancelled
/// tenants with the end of their grace period (backup decides by its clock), one tenant's state, the deletion of identity's rows
/// of a cancelled tenant (the tenant's registry row last), data-subject requests' and tenant exports' part in identity. Only backup reaches these.
struct TenantLifecycleRoutes: Sendable {
    let tenants: TenantRepository

    func register(on router: Router<ServiceRequestContext>) {
        router.get("/internal/v1/tenants/cancelled") { _, context -> DataList<Tenant> in
            try Self.requireBackup(context)
            return DataList(data: try await tenants.list().filter { $0.status == .cancelled })
        }
        router.get("/internal/v1/tenants/{tenant}") { _, context -> Tenant in
            try Self.requireBackup(context)
            guard let tenant = try await tenants.find(id: try Self.tenantID(context)) else { throw IdentityError.tenantNotFound.problem }
            return tenant
        }
        // Before a purge deletes anything: the tenant can no longer be reinstated (409 unless cancelled).
        router.post("/internal/v1/tenants/{tenant}/purge-start") { _, context -> Response in
            try Self.requireBackup(context)
            try await IdentityRequest.run { try await tenants.startPurge(id: try Self.tenantID(context)) }
            return Response(status: .noContent)
        }
        // A tenant already gone (an earlier purge) deletes nothing more and succeeds.
        TenantPurgeRoutes(database: tenants.database, service: .identity) { id in
            if let tenant = try await tenants.find(id: id), tenant.status != .cancelled {
                throw ProblemError(status: .conflict, code: "tenant_not_cancelled", title: "Tenant not cancelled",
                                   detail: "Only a cancelled tenant can be purged.")
            }
        }.register(on: router)
        DataSubjectRoutes(holder: CustomerDataRepository(database: tenants.database), service: .identity).register(on: router)
        TenantExportRoutes(exporter: TenantIdentityExport(database: tenants.database)).register(on: router)
    }

    static func requireBackup(_ context: ServiceRequestContext) throws {
        guard case .service(.backup, _) = context.caller else {
            throw ProblemError(status: .forbidden, code: "caller_not_allowed", title: "Caller not allowed")
        }
    }

    static func tenantID(_ context: ServiceRequestContext) throws -> TenantID {
        guard let raw = context.parameters.get("tenant"), let id = UUID(uuidString: raw) else {
            throw ProblemError(status: .badRequest, code: "invalid_tenant", title: "Invalid tenant", detail: "The tenant must be a UUID.")
        }
        return TenantID(rawValue: id)
    }
}
