import Foundation
import Hummingbird
import RampartCore
import RampartSecurity
import RampartStorage
import RampartTransport

/// `GET`/`PUT /api/v1/security/settings` (`security:write`): the tenant's password policies
/// (a preset name or every knob), session timeouts and the roles that must use a second factor.
struct SecuritySettingsRoutes: Sendable {
    let database: Database
    let region: Region

    func register(on router: Router<ServiceRequestContext>) {
        let group = router.group("/api/v1/security/settings", context: AuthenticatedContext.self)
        group.get { _, context -> SecuritySettings in
            try CredentialAdminRoutes.requireSecurityAdmin(context.principal)
            return try await database.withTenant(context.principal.tenantID) { connection in
                try await SecuritySettings.load(tenant: context.principal.tenantID, on: connection, logger: database.logger)
            }
        }
        group.put { request, context -> SecuritySettings in
            let actor = try CredentialAdminRoutes.requireSecurityAdmin(context.principal)
            let settings = try await IdentityRequest.decode(SecuritySettings.self, from: request, context: context)
            let problems = settings.problems()
            guard problems.isEmpty else {
                throw ProblemError(status: .unprocessableContent, code: "invalid_input", title: "Invalid input",
                                   fieldErrors: problems.map { .init(field: $0.field, message: $0.message) })
            }
            let tenant = context.principal.tenantID
            try await database.withTenant(tenant) { connection in
                try await SecuritySettings.save(settings, tenant: tenant, region: region, actor: actor, requestID: context.requestID,
                                                on: connection, logger: database.logger)
            }
            return settings
        }
    }
}

extension SecuritySettings: ResponseEncodable {}
