import Foundation
import RampartCore
import RampartSecurity

/// Turns a credential presented at a tenant's host into a signed principal for one service,
/// or a refusal. The one place that decides who a request is.
public struct PrincipalIssuer: Sendable {
    public let tenants: TenantRepository
    public let apiKeys: APIKeyRepository
    public let sessions: SessionRepository
    public let tokens: TokenRepository
    public let signingKey: PrincipalSigningKey
    /// Derives the session's anti-CSRF token that session principals carry.
    public let csrf: CSRFToken
    /// How long an issued principal lives (at most five minutes).
    public let lifetime: TimeInterval

    public init(tenants: TenantRepository, apiKeys: APIKeyRepository, sessions: SessionRepository, tokens: TokenRepository, signingKey: PrincipalSigningKey, csrf: CSRFToken,
                lifetime: TimeInterval = 120) {
        self.tenants = tenants
        self.apiKeys = apiKeys
        self.sessions = sessions
        self.tokens = tokens
        self.signingKey = signingKey
        self.csrf = csrf
        self.lifetime = min(lifetime, PrincipalToken.maximumLifetime)
    }

    /// Why no principal was issued; the gateway answers every case with the same 401.
    public enum Refusal: String, Error, Sendable, Codable {
        case unknownTenant = "unknown_tenant"
        case tenantNotActive = "tenant_not_active"
        case unsupportedCredential = "unsupported_credential"
        case invalidCredential = "invalid_credential"
    }

    /// An issued principal: the token to forward and what it says.
    public struct Issued: Sendable {
        public let token: String
        public let principal: Principal
        public let expiresIn: Int
    }

    /// The principal for a session cookie's token at `tenantSlug`'s host.
    public func resolve(sessionToken: String, tenantSlug: String, audience: ServiceName) async throws -> Result<Issued, Refusal> {
        let tenant: Tenant
        switch try await activeTenant(tenantSlug) {
        case .failure(let refusal): return .failure(refusal)
        case .success(let found): tenant = found
        }
        guard let session = try await sessions.resolve(token: sessionToken, tenant: tenant.id) else { return .failure(.invalidCredential) }
        let user = session.user
        let kind = user.role.principalKind
        let principal = Principal(
            tenantID: tenant.id, tenantSlug: tenant.slug, region: tenant.region, subject: Principal.subject(ofUser: user.id),
            kind: kind, roles: session.secondFactorPending ? [] : [user.role.rawValue], scopes: session.secondFactorPending ? [] : user.role.permissions.compactMap(\.scope).sorted(),
            authenticationMethod: Principal.AuthenticationMethod(rawValue: session.authenticationMethod) ?? .password,
            sessionID: session.id.uuidString.lowercased(), csrfToken: csrf.token(for: session.id.uuidString.lowercased())
        )
        let token = try PrincipalToken.sign(principal, audience: audience, key: signingKey, lifetime: lifetime)
        return .success(Issued(token: token, principal: principal, expiresIn: Int(lifetime)))
    }

    private func activeTenant(_ tenantSlug: String) async throws -> Result<Tenant, Refusal> {
        guard let slug = TenantSlug(rawValue: tenantSlug), let tenant = try await tenants.findForResolution(slug: slug) else {
            return .failure(.unknownTenant)
        }
        guard tenant.status == .active else { return .failure(.tenantNotActive) }
        return .success(tenant)
    }

    /// The principal for a bearer credential (an API key or an access token) at `tenantSlug`'s host.
    public func resolve(credential presented: String, tenantSlug: String, audience: ServiceName, clientIP: String?) async throws -> Result<Issued, Refusal> {
        let tenant: Tenant
        switch try await activeTenant(tenantSlug) {
        case .failure(let refusal): return .failure(refusal)
        case .success(let found): tenant = found
        }
        guard let credential = SecretCredential(presented: presented) else {
            return .failure(presented.hasPrefix("rk_") || presented.hasPrefix("rat_") ? .invalidCredential : .unsupportedCredential)
        }
        let principal: Principal
        switch credential.kind {
        case .apiKey:
            guard case .success(let (user, scopes)) = try await apiKeys.resolve(credential, tenant: tenant.id, clientIP: clientIP) else {
                return .failure(.invalidCredential)
            }
            principal = Principal(
                tenantID: tenant.id, tenantSlug: tenant.slug, region: tenant.region, subject: "api_key:\(credential.id)",
                kind: .apiClient, roles: [user.role.rawValue], scopes: scopes.sorted(), authenticationMethod: .apiKey
            )
        case .accessToken:
            guard let token = try await tokens.resolve(credential, tenant: tenant.id, clientIP: clientIP) else { return .failure(.invalidCredential) }
            principal = Self.principal(for: token, tenant: tenant)
        case .refreshToken, .authorizationCode, .clientSecret, .invitation:
            return .failure(.invalidCredential)
        }
        let token = try PrincipalToken.sign(principal, audience: audience, key: signingKey, lifetime: lifetime)
        return .success(Issued(token: token, principal: principal, expiresIn: Int(lifetime)))
    }

    /// The principal an access token stands for: its user (with the token's narrowed scopes),
    /// the API key it was exchanged from, or the OAuth client acting for itself.
    static func principal(for token: TokenRepository.Resolved, tenant: Tenant) -> Principal {
        let method = Principal.AuthenticationMethod(rawValue: token.authenticationMethod) ?? .oauth
        if let keyID = token.apiKeyID {
            return Principal(tenantID: tenant.id, tenantSlug: tenant.slug, region: tenant.region, subject: "api_key:\(keyID)", kind: .apiClient,
                             roles: token.user.map { [$0.role.rawValue] } ?? [], scopes: token.scopes, authenticationMethod: .apiKey, tokenID: token.id)
        }
        if let user = token.user {
            return Principal(tenantID: tenant.id, tenantSlug: tenant.slug, region: tenant.region, subject: Principal.subject(ofUser: user.id),
                             kind: user.role.principalKind, roles: [user.role.rawValue], scopes: token.scopes, authenticationMethod: method,
                             tokenID: token.id, clientID: token.clientID)
        }
        return Principal(tenantID: tenant.id, tenantSlug: tenant.slug, region: tenant.region, subject: "oauth_client:\(token.clientID ?? "")",
                         kind: .apiClient, roles: [], scopes: token.scopes, authenticationMethod: .oauth,
                         tokenID: token.id, clientID: token.clientID)
    }
}
