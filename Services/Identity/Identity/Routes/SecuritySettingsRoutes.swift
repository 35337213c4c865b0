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
            try await load(principal: context.principal)
        }
        group.put { request, context -> SecuritySettings in
            try CredentialAdminRoutes.requireSecurityAdmin(context.principal)
            let settings = try await IdentityRequest.decode(SecuritySettings.self, from: request, context: context)
            try await save(settings, principal: context.principal, requestID: context.requestID)
            return settings
        }
    }

    // Shared by the API above and the admin console's policies page (`AdminPolicyPages`).

    /// The settings of the caller's tenant.
    func load(principal: Principal) async throws -> SecuritySettings {
        try CredentialAdminRoutes.requireSecurityAdmin(principal)
        return try await database.withTenant(principal.tenantID) { connection in
            try await SecuritySettings.load(tenant: principal.tenantID, on: connection, logger: database.logger)
        }
    }

    /// Stores `settings` for the caller's tenant, audited; unusable settings are refused field by field.
    func save(_ settings: SecuritySettings, principal: Principal, requestID: String) async throws {
        let actor = try CredentialAdminRoutes.requireSecurityAdmin(principal)
        let problems = settings.problems()
        guard problems.isEmpty else {
            throw ProblemError(status: .unprocessableContent, code: "invalid_input", title: "Invalid input",
                               fieldErrors: problems.map { .init(field: $0.field, message: $0.message) })
        }
        try await database.withTenant(principal.tenantID) { connection in
            try await SecuritySettings.save(settings, tenant: principal.tenantID, region: region, actor: actor, requestID: requestID,
                                            on: connection, logger: database.logger)
        }
    }
}

extension SecuritySettings: ResponseEncodable {}
