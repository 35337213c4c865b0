import Foundation
import Hummingbird
import RampartCore
import RampartSecurity
import RampartTransport

/// A tenant admin's credential management (`security:write`): API keys of the tenant's users
/// (`/api/v1/api-keys`) and OAuth clients (`/api/v1/oauth-clients`). Secrets are shown once at
/// creation; lists never contain them. The tenant always comes from the principal.
struct CredentialAdminRoutes: Sendable {
    let users: UserRepository
    let apiKeys: APIKeyRepository
    let clients: OAuthClientRepository

    struct CreateAPIKey: Decodable {
        var userID: UUID
        var name: String
        var scopes: [String]
        var allowedCIDRs: [String]?
        var expiresAt: Date?

        enum CodingKeys: String, CodingKey {
            case name, scopes
            case userID = "user_id"
            case allowedCIDRs = "allowed_cidrs"
            case expiresAt = "expires_at"
        }
    }

    /// The body of `POST /api/v1/oauth-clients` and of the operator's equivalent.
    struct CreateClient: Decodable {
        var name: String
        var redirectURIs: [String]
        var scopes: [String]
        /// A public client (a browser or mobile app) has no secret and must use PKCE.
        var `public`: Bool?

        enum CodingKeys: String, CodingKey {
            case name, scopes, `public`
            case redirectURIs = "redirect_uris"
        }
    }

    struct CreatedClient: ResponseEncodable {
        var clientID: String
        var clientSecret: String?
        var client: OAuthClient

        enum CodingKeys: String, CodingKey {
            case client
            case clientID = "client_id"
            case clientSecret = "client_secret"
        }
    }

    func register(on router: Router<ServiceRequestContext>) {
        let keys = router.group("/api/v1/api-keys", context: AuthenticatedContext.self)
        keys.get { _, context -> DataList<APIKeyRepository.Record> in
            try Self.requireSecurityAdmin(context.principal)
            return DataList(data: try await apiKeys.list(tenant: context.principal.tenantID))
        }
        keys.post { request, context -> EditedResponse<OperatorRoutes.CreatedAPIKey> in
            let actor = try Self.requireSecurityAdmin(context.principal)
            let body = try await IdentityRequest.decode(CreateAPIKey.self, from: request, context: context)
            guard let user = try await users.find(id: body.userID, tenant: context.principal.tenantID), user.status == .active else {
                throw IdentityError.userNotFound.problem
            }
            try Self.requireHeld(body.scopes, by: context.principal)
            let (record, credential) = try await IdentityRequest.run {
                try await apiKeys.create(for: user, name: body.name, scopes: body.scopes, allowedCIDRs: body.allowedCIDRs ?? [],
                                         expiresAt: body.expiresAt, actor: actor, requestID: context.requestID)
            }
            return EditedResponse(status: .created, headers: IdentityRequest.secretHeaders, response: .init(key: credential.presented, record: record))
        }
        keys.delete("{id}") { _, context -> Response in
            let actor = try Self.requireSecurityAdmin(context.principal)
            guard try await apiKeys.revoke(id: context.parameters.get("id") ?? "", tenant: context.principal.tenantID, actor: actor, requestID: context.requestID) else {
                throw IdentityError.apiKeyNotFound.problem
            }
            return Response(status: .noContent)
        }

        let oauth = router.group("/api/v1/oauth-clients", context: AuthenticatedContext.self)
        oauth.get { _, context -> DataList<OAuthClient> in
            try Self.requireSecurityAdmin(context.principal)
            return DataList(data: try await clients.list(tenant: context.principal.tenantID))
        }
        oauth.post { request, context -> EditedResponse<CreatedClient> in
            let actor = try Self.requireSecurityAdmin(context.principal)
            let body = try await IdentityRequest.decode(CreateClient.self, from: request, context: context)
            try Self.requireHeld(body.scopes, by: context.principal)
            return try await Self.createClient(body, tenant: context.principal.tenantID, clients: clients, actor: actor, requestID: context.requestID)
        }
        oauth.delete("{id}") { _, context -> Response in
            let actor = try Self.requireSecurityAdmin(context.principal)
            guard try await clients.revoke(id: context.parameters.get("id") ?? "", tenant: context.principal.tenantID, actor: actor, requestID: context.requestID) else {
                throw IdentityError.oauthClientNotFound.problem
            }
            return Response(status: .noContent)
        }
    }

    /// Registers a client from `body`; shared by the admin and operator APIs.
    static func createClient(_ body: CreateClient, tenant: TenantID, clients: OAuthClientRepository,
                             actor: AuditEvent.Actor, requestID: String?) async throws -> EditedResponse<CreatedClient> {
        let (client, secret) = try await IdentityRequest.run {
            try await clients.create(tenant: tenant, name: body.name, confidential: body.public != true, redirectURIs: body.redirectURIs,
                                     scopes: body.scopes, actor: actor, requestID: requestID)
        }
        return EditedResponse(status: .created, headers: IdentityRequest.secretHeaders, response: CreatedClient(clientID: client.id, clientSecret: secret, client: client))
    }

    /// Only principals holding `security:write` manage credentials.
    @discardableResult
    static func requireSecurityAdmin(_ principal: Principal) throws -> AuditEvent.Actor {
        guard principal.has(scope: "security:write") else {
            throw ProblemError(status: .forbidden, code: "permission_denied", title: "Permission denied",
                               detail: "Managing API keys and OAuth clients needs the admin.security permission.")
        }
        return UserAdminRoutes.actor(principal)
    }

    /// No escalation: a caller hands out only scopes it holds itself.
    static func requireHeld(_ scopes: [String], by principal: Principal) throws {
        let missing = scopes.filter { Permission.scopes.contains($0) && !principal.has(scope: $0) }
        guard missing.isEmpty else {
            throw ProblemError(status: .forbidden, code: "scopes_exceed_caller", title: "Scopes exceed your own",
                               detail: "You cannot grant scopes you do not hold: \(missing.joined(separator: ", ")).")
        }
    }
}

extension OAuthClient: ResponseEncodable {}
