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
            try Self.requireSecurityAdmin(context.principal)
            let body = try await IdentityRequest.decode(CreateAPIKey.self, from: request, context: context)
            return EditedResponse(status: .created, headers: IdentityRequest.secretHeaders,
                                  response: try await createAPIKey(body, principal: context.principal, requestID: context.requestID))
        }
        keys.delete("{id}") { _, context -> Response in
            try await revokeAPIKey(context.parameters.get("id") ?? "", principal: context.principal, requestID: context.requestID)
            return Response(status: .noContent)
        }

        let oauth = router.group("/api/v1/oauth-clients", context: AuthenticatedContext.self)
        oauth.get { _, context -> DataList<OAuthClient> in
            try Self.requireSecurityAdmin(context.principal)
            return DataList(data: try await clients.list(tenant: context.principal.tenantID))
        }
        oauth.post { request, context -> EditedResponse<CreatedClient> in
            try Self.requireSecurityAdmin(context.principal)
            let body = try await IdentityRequest.decode(CreateClient.self, from: request, context: context)
            return try await createClient(body, principal: context.principal, requestID: context.requestID)
        }
        oauth.delete("{id}") { _, context -> Response in
            try await deleteClient(context.parameters.get("id") ?? "", principal: context.principal, requestID: context.requestID)
            return Response(status: .noContent)
        }
        oauth.post("{id}/secret") { request, context -> EditedResponse<CreatedClient> in
            try Self.requireSecurityAdmin(context.principal)
            let body = try await IdentityRequest.decode(RotateSecret.self, from: request, context: context)
            return EditedResponse(status: .ok, headers: IdentityRequest.secretHeaders,
                                  response: try await rotateClientSecret(context.parameters.get("id") ?? "", revokeTokens: body.revokeTokens ?? false,
                                                                         principal: context.principal, requestID: context.requestID))
        }
    }

    /// The body of `POST /api/v1/oauth-clients/{id}/secret`.
    struct RotateSecret: Decodable {
        /// Also revoke every token and unused code issued to the client (default: keep them).
        var revokeTokens: Bool?

        enum CodingKeys: String, CodingKey {
            case revokeTokens = "revoke_tokens"
        }
    }

    /// A new secret for confidential client `id` of the caller's tenant, in the answer once; the
    /// old secret stops working at once.
    func rotateClientSecret(_ id: String, revokeTokens: Bool, principal: Principal, requestID: String) async throws -> CreatedClient {
        let actor = try Self.requireSecurityAdmin(principal)
        guard let (client, secret) = try await IdentityRequest.run({
            try await clients.rotateSecret(id: id, revokeTokens: revokeTokens, tenant: principal.tenantID, actor: actor, requestID: requestID)
        }) else {
            throw IdentityError.oauthClientNotFound.problem
        }
        return CreatedClient(clientID: client.id, clientSecret: secret, client: client)
    }

    // The rules of each change, shared by the API above and the admin console's pages (`AdminCredentialPages`).

    /// Creates a key for an active user of the caller's tenant, with scopes the caller holds;
    /// the answer carries the secret, once.
    func createAPIKey(_ body: CreateAPIKey, principal: Principal, requestID: String) async throws -> OperatorRoutes.CreatedAPIKey {
        let actor = try Self.requireSecurityAdmin(principal)
        guard let user = try await users.find(id: body.userID, tenant: principal.tenantID), user.status == .active else {
            throw IdentityError.userNotFound.problem
        }
        try Self.requireHeld(body.scopes, by: principal)
        let (record, credential) = try await IdentityRequest.run {
            try await apiKeys.create(for: user, name: body.name, scopes: body.scopes, allowedCIDRs: body.allowedCIDRs ?? [],
                                     expiresAt: body.expiresAt, actor: actor, requestID: requestID)
        }
        return .init(key: credential.presented, record: record)
    }

    /// Revokes key `id` of the caller's tenant, and every token exchanged from it.
    func revokeAPIKey(_ id: String, principal: Principal, requestID: String) async throws {
        let actor = try Self.requireSecurityAdmin(principal)
        guard try await apiKeys.revoke(id: id, tenant: principal.tenantID, actor: actor, requestID: requestID) else {
            throw IdentityError.apiKeyNotFound.problem
        }
    }

    /// Registers a client of the caller's tenant with scopes the caller holds; a confidential
    /// client's secret is in the answer, once.
    func createClient(_ body: CreateClient, principal: Principal, requestID: String) async throws -> EditedResponse<CreatedClient> {
        let actor = try Self.requireSecurityAdmin(principal)
        try Self.requireHeld(body.scopes, by: principal)
        return try await Self.createClient(body, tenant: principal.tenantID, clients: clients, actor: actor, requestID: requestID)
    }

    /// Deletes client `id` of the caller's tenant, revoking its tokens and codes.
    func deleteClient(_ id: String, principal: Principal, requestID: String) async throws {
        let actor = try Self.requireSecurityAdmin(principal)
        guard try await clients.revoke(id: id, tenant: principal.tenantID, actor: actor, requestID: requestID) else {
            throw IdentityError.oauthClientNotFound.problem
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
