import Foundation
import HTTPTypes
import Hummingbird
import RampartCore
import RampartSecurity
import RampartTransport

/// A tenant admin's user management (`users:write`): list, create or invite, change role,
/// deactivate, reactivate.
/// The tenant always comes from the principal, never from the request.
struct UserAdminRoutes: Sendable {
    let tenants: TenantRepository
    let users: UserRepository
    let sessions: SessionRepository
    let invitations: InvitationRepository
    let baseDomain: String

    struct Page: ResponseEncodable {
        struct Meta: Codable {
            var count: Int
        }

        struct Links: Codable {
            var next: String?
        }

        var data: [User]
        var meta: Meta
        var links: Links
    }

    func register(on router: Router<ServiceRequestContext>) {
        let group = router.group("/api/v1/users", context: AuthenticatedContext.self)
        group.get { request, context -> Page in
            try Self.requireAdmin(context.principal)
            let limit = min(max(request.uri.queryParameters.get("limit", as: Int.self) ?? 50, 1), 200)
            let cursor = request.uri.queryParameters.get("cursor").flatMap { Data(base64Encoded: String($0)) }.map { String(decoding: $0, as: UTF8.self) }
            let filter: UserFilter
            do {
                filter = try UserFilter(q: request.uri.queryParameters.get("q"), role: request.uri.queryParameters.get("role"))
            } catch let invalid as UserFilter.Invalid {
                throw ProblemError(status: .badRequest, code: "invalid_query", title: "Invalid query", detail: "\(invalid.field) \(invalid.message).")
            }
            let page = try await users.list(tenant: context.principal.tenantID, afterEmail: cursor, limit: limit + 1, filter: filter)
            let data = Array(page.prefix(limit))
            let next = page.count > limit ? data.last.map {
                (["/api/v1/users?limit=\(limit)"] + filter.queryItems
                    + ["cursor=\(Data($0.email.rawValue.utf8).base64EncodedString().addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")"]).joined(separator: "&")
            } : nil
            return Page(data: data, meta: .init(count: data.count), links: .init(next: next))
        }
        group.post { request, context -> EditedResponse<OperatorRoutes.CreatedUser> in
            let actor = try Self.requireAdmin(context.principal)
            let body = try await IdentityRequest.decode(OperatorRoutes.CreateUser.self, from: request, context: context)
            if body.invite == true {
                return EditedResponse(status: .created, headers: IdentityRequest.secretHeaders,
                                      response: try await invite(body, principal: context.principal, forwardedHost: Self.forwardedHost(request), requestID: context.requestID))
            }
            let tenant = try await tenant(of: context.principal)
            // No escalation: a caller may only create users whose role grants nothing it lacks.
            let granted = Set(body.role.permissions.compactMap(\.scope))
            guard granted.isSubset(of: Set(context.principal.scopes)) else {
                throw ProblemError(status: .forbidden, code: "role_exceeds_caller", title: "Role exceeds your own permissions",
                                   detail: "You cannot create a user with permissions you do not hold.")
            }
            let (user, generated) = try await IdentityRequest.run {
                try await users.create(tenant: tenant, email: body.email, name: body.name, role: body.role, password: body.password,
                                       actor: actor, requestID: context.requestID)
            }
            return EditedResponse(status: .created, headers: IdentityRequest.secretHeaders, response: .init(user: user, password: generated))
        }
        group.post("{id}/deactivate") { _, context -> Response in
            try await deactivate(try Self.userID(context), principal: context.principal, requestID: context.requestID)
            return Response(status: .noContent)
        }
        group.post("{id}/sessions/revoke") { _, context -> Response in
            let actor = try Self.requireAdmin(context.principal)
            let id = try Self.userID(context)
            guard try await users.find(id: id, tenant: context.principal.tenantID) != nil else { throw IdentityError.userNotFound.problem }
            try await sessions.revoke(user: id, sessionID: nil, tenant: context.principal.tenantID, actor: actor, region: context.principal.region, requestID: context.requestID)
            return Response(status: .noContent)
        }
        group.post("{id}/role") { request, context -> Response in
            try Self.requireAdmin(context.principal)
            let id = try Self.userID(context)
            let body = try await IdentityRequest.decode(ChangeRole.self, from: request, context: context)
            try await changeRole(of: id, to: body.role, principal: context.principal, requestID: context.requestID)
            return Response(status: .noContent)
        }
        group.post("{id}/invitation") { request, context -> EditedResponse<OperatorRoutes.CreatedUser> in
            let actor = try Self.requireAdmin(context.principal)
            let id = try Self.userID(context)
            let token = try await IdentityRequest.run { try await invitations.reissue(userID: id, tenant: context.principal.tenantID, actor: actor, requestID: context.requestID) }
            guard let user = try await users.find(id: id, tenant: context.principal.tenantID) else { throw IdentityError.userNotFound.problem }
            return EditedResponse(status: .created, headers: IdentityRequest.secretHeaders,
                                  response: .init(user: user, invitationURL: invitationURL(Self.forwardedHost(request), context.principal, token)))
        }
        group.post("{id}/reactivate") { _, context -> Response in
            try await reactivate(try Self.userID(context), principal: context.principal, requestID: context.requestID)
            return Response(status: .noContent)
        }
    }

    // The rules of each change, shared by the API above and the admin console's pages (`AdminUserPages`).

    /// The principal's own tenant, active.
    func tenant(of principal: Principal) async throws -> Tenant {
        guard let tenant = try await tenants.find(slug: principal.tenantSlug), tenant.id == principal.tenantID else {
            throw IdentityError.tenantNotFound.problem
        }
        return tenant
    }

    /// Creates `body.email` as invited and returns the link that lets them choose a password.
    /// No password may be given, and no role that grants what the caller lacks.
    func invite(_ body: OperatorRoutes.CreateUser, principal: Principal, forwardedHost: String?, requestID: String) async throws -> OperatorRoutes.CreatedUser {
        let actor = try Self.requireAdmin(principal)
        let tenant = try await tenant(of: principal)
        guard body.password == nil, body.role.permissions.compactMap(\.scope).allSatisfy(principal.has(scope:)) else {
            throw ProblemError(status: .unprocessableContent, code: "invalid_input", title: "Invalid input",
                               fieldErrors: [.init(field: "password", message: "An invited user chooses their own password.")])
        }
        let (user, token) = try await IdentityRequest.run {
            try await invitations.invite(tenant: tenant, email: body.email, name: body.name, role: body.role, actor: actor, requestID: requestID)
        }
        return .init(user: user, invitationURL: invitationURL(forwardedHost, principal, token))
    }

    /// Gives user `id` another role: never one beyond the caller's own, never the caller's own role.
    func changeRole(of id: UUID, to role: Role, principal: Principal, requestID: String) async throws {
        let actor = try Self.requireAdmin(principal)
        guard Set(role.permissions.compactMap(\.scope)).isSubset(of: Set(principal.scopes)) else {
            throw ProblemError(status: .forbidden, code: "role_exceeds_caller", title: "Role exceeds your own permissions",
                               detail: "You cannot give a user permissions you do not hold.")
        }
        guard principal.userID != id else {
            throw ProblemError(status: .conflict, code: "cannot_change_own_role", title: "You cannot change your own role")
        }
        try await IdentityRequest.run { try await users.changeRole(id: id, to: role, tenant: principal.tenantID, actor: actor, requestID: requestID) }
    }

    /// Deactivates user `id` (not the caller): their sessions, keys and tokens end with it.
    func deactivate(_ id: UUID, principal: Principal, requestID: String) async throws {
        let actor = try Self.requireAdmin(principal)
        guard principal.userID != id else {
            throw ProblemError(status: .conflict, code: "cannot_deactivate_self", title: "You cannot deactivate yourself")
        }
        try await IdentityRequest.run { try await users.deactivate(id: id, tenant: principal.tenantID, actor: actor, requestID: requestID) }
    }

    func reactivate(_ id: UUID, principal: Principal, requestID: String) async throws {
        let actor = try Self.requireAdmin(principal)
        try await IdentityRequest.run { try await users.reactivate(id: id, tenant: principal.tenantID, actor: actor, requestID: requestID) }
    }

    /// The host the request came to, as the gateway forwards it.
    static func forwardedHost(_ request: Request) -> String? {
        HTTPField.Name("X-Forwarded-Host").flatMap { request.headers[$0] }
    }

    /// The link an invitee opens: on the host the admin used (through the gateway), else the tenant's canonical host.
    private func invitationURL(_ forwardedHost: String?, _ principal: Principal, _ token: String) -> String {
        let forwarded = forwardedHost.flatMap { host in
            ForwardedRequest.tenant(fromHost: host, region: principal.region, baseDomain: baseDomain) == principal.tenantSlug ? host.lowercased() : nil
        }
        let host = forwarded ?? "\(principal.tenantSlug).\(principal.region).\(baseDomain)"
        return "https://\(host)/invitation?token=\(token)"
    }

    struct ChangeRole: Decodable {
        var role: Role
    }

    static func userID(_ context: AuthenticatedContext) throws -> UUID {
        guard let raw = context.parameters.get("id"), let id = UUID(uuidString: raw) else { throw IdentityError.userNotFound.problem }
        return id
    }

    /// Only principals holding `users:write` manage users; the actor recorded is the principal.
    @discardableResult
    static func requireAdmin(_ principal: Principal) throws -> AuditEvent.Actor {
        guard principal.has(scope: "users:write") else {
            throw ProblemError(status: .forbidden, code: "permission_denied", title: "Permission denied", detail: "Managing users needs the admin.users permission.")
        }
        return actor(principal)
    }

    /// The audit actor for a principal acting through the admin API.
    static func actor(_ principal: Principal) -> AuditEvent.Actor {
        let type = principal.kind == .apiClient ? "api_key" : principal.kind.rawValue
        return AuditEvent.Actor(type: type, id: principal.subject, authenticationMethod: principal.authenticationMethod.rawValue)
    }
}
