import Foundation
import Hummingbird
import RampartCore
import RampartSecurity
import RampartStorage
import RampartTransport

/// `GET`/`PUT /api/v1/security/settings` (`security:write`): the tenant's password policies
/// (a preset name or every knob), session timeouts and the roles that must use a second factor.
/// Both answer with the settings' `ETag`; a `PUT` with `If-Match` applies only to that version
/// (412 once another change was saved), so two admins cannot silently undo each other's changes.
struct SecuritySettingsRoutes: Sendable {
    let database: Database
    let region: Region

    func register(on router: Router<ServiceRequestContext>) {
        let group = router.group("/api/v1/security/settings", context: AuthenticatedContext.self)
        group.get { request, context -> Response in
            try Self.response(try await load(principal: context.principal), request, context)
        }
        group.put { request, context -> Response in
            try CredentialAdminRoutes.requireSecurityAdmin(context.principal)
            let admits = try EntityTag.check(request.headers, mismatch: Self.changedMeanwhile)
            let settings = try await IdentityRequest.decode(SecuritySettings.self, from: request, context: context)
            let saved = try await save(principal: context.principal, requestID: context.requestID) { stored in
                try admits(stored.version)
                return settings
            }
            return try Self.response(saved, request, context)
        }
    }

    /// `If-Match` named another version than the stored one (or could not be read).
    static let changedMeanwhile = EntityTag.mismatch(detail: "The settings changed since the version named in If-Match; fetch them again.")

    private static func response(_ settings: SecuritySettings, _ request: Request, _ context: some RequestContext) throws -> Response {
        var response = try settings.response(from: request, context: context)
        response.headers[.eTag] = EntityTag.quoted(settings.version)
        return response
    }

    // Shared by the API above and the admin console's policies page (`AdminPages+Policies`).

    /// The settings of the caller's tenant.
    func load(principal: Principal) async throws -> SecuritySettings {
        try CredentialAdminRoutes.requireSecurityAdmin(principal)
        return try await database.withTenant(principal.tenantID) { connection in
            try await SecuritySettings.load(tenant: principal.tenantID, on: connection, logger: database.logger)
        }
    }

    /// Changes the caller's tenant's settings (`SecuritySettings.update`: `change` gets the
    /// stored settings in the same transaction; audited; unusable settings refused field by field).
    func save(principal: Principal, requestID: String,
              _ change: @escaping @Sendable (SecuritySettings) throws -> SecuritySettings) async throws -> SecuritySettings {
        let actor = try CredentialAdminRoutes.requireSecurityAdmin(principal)
        return try await database.withTenant(principal.tenantID) { connection in
            try await SecuritySettings.update(tenant: principal.tenantID, region: region, actor: actor, requestID: requestID,
                                              on: connection, logger: database.logger, change)
        }
    }
}

extension SecuritySettings: ResponseEncodable {}
