import Foundation
import PostgresNIO
import RampartCore
import RampartSecurity
import RampartStorage

/// OpenID Connect sign-in (authorization code with PKCE) for one region. `start` stores a request
/// bound to the browser (a hash of its cookie) with fresh `state`, `nonce` and PKCE verifier;
/// `finish` consumes that request once — only in the browser that started it — exchanges the
/// code, verifies the ID token with the issuer's keys and the request's nonce, and hands the
/// identity to `FederatedSignIn`. The nonce needs no replay cache of its own: it belongs to one
/// request, which is consumed before the code is exchanged, so a replayed token meets either a
/// consumed state or another request's nonce. Every refusal is audited with its reason.
public struct OIDCSignIn: Sendable {
    public let database: Database
    public let region: Region
    public let configurations: SSOConfigurationRepository
    let providers: OIDCProviderDirectory

    init(database: Database, region: Region, configurations: SSOConfigurationRepository, providers: OIDCProviderDirectory) {
        self.database = database
        self.region = region
        self.configurations = configurations
        self.providers = providers
    }

    /// How long an authorization request may stay unanswered.
    static let requestLifetime: TimeInterval = 600

    /// The one redirect URI of a tenant host, for both audiences (the request remembers which).
    public static func redirectURI(host: String) -> String { "https://\(host)/auth/oidc/callback" }

    /// How a sign-in start ended: the provider's authorization URL and the browser's token, or a
    /// refusal (audited); `nil` from `start` when the audience has no OpenID Connect configuration.
    enum Start {
        case redirect(url: String, browserToken: String)
        case refused(reason: String)
    }

    /// The request a callback answers.
    private struct PendingRequest {
        var audience: SSOAudience
        var nonce: String
        var verifier: String
        var redirectURI: String
        var returnTo: String
        var maxAge: Int?
        var promptsLogin: Bool
        var startedAt: Date
    }

    /// `loginHint`: passed on as `login_hint` (the provider may prefill the user's name) when it is
    /// at most 256 bytes of printable text; anything else is dropped.
    func start(tenant: Tenant, audience: SSOAudience, host: String, returnTo: String, loginHint: String? = nil,
               origin: PasswordSignIn.Origin) async throws -> Start? {
        guard let configuration = try await configurations.load(tenant: tenant.id, audience: audience), let settings = configuration.oidc else { return nil }
        let metadata: OIDCProviderMetadata
        do throws(OIDCFailure) {
            metadata = try await providers.metadata(issuer: settings.issuer)
        } catch {
            return .refused(reason: try await refuse(error.rawValue, issuer: settings.issuer, subject: nil, tenant: tenant, origin: origin))
        }
        let (state, nonce, verifier, browserToken) = (SessionRepository.newToken(), SessionRepository.newToken(),
                                                      SessionRepository.newToken(), SessionRepository.newToken())
        let redirectURI = Self.redirectURI(host: host)
        try await database.withTenant(tenant.id) { connection in
            // Abandoned sign-ins would otherwise pile up: requests expired for a day are dropped.
            try await connection.query("DELETE FROM oidc_requests WHERE expires_at < now() - interval '1 day'", logger: database.logger)
            try await connection.query("""
                INSERT INTO oidc_requests (state, tenant_id, audience, browser_hash, nonce, code_verifier, redirect_uri, return_to, expires_at,
                                           max_age, prompt)
                VALUES (\(state), \(tenant.id.rawValue), \(audience.rawValue), \(SessionRepository.hash(browserToken)), \(nonce), \(verifier),
                        \(redirectURI), \(returnTo), \(Date.now.addingTimeInterval(Self.requestLifetime)), \(settings.maxAge), \(settings.prompt))
                """, logger: database.logger)
        }
        guard var url = URLComponents(string: metadata.authorizationEndpoint) else {
            return .refused(reason: try await refuse(OIDCFailure.discoveryFailed.rawValue, issuer: settings.issuer, subject: nil, tenant: tenant, origin: origin))
        }
        url.queryItems = (url.queryItems ?? []) + [
            URLQueryItem(name: "response_type", value: "code"), URLQueryItem(name: "client_id", value: settings.clientID),
            URLQueryItem(name: "redirect_uri", value: redirectURI), URLQueryItem(name: "scope", value: settings.scopes.joined(separator: " ")),
            URLQueryItem(name: "state", value: state), URLQueryItem(name: "nonce", value: nonce),
            URLQueryItem(name: "code_challenge", value: PKCE.challenge(for: verifier)), URLQueryItem(name: "code_challenge_method", value: "S256"),
        ]
        url.queryItems?.append(contentsOf: [
            settings.prompt.map { URLQueryItem(name: "prompt", value: $0) },
            settings.maxAge.map { URLQueryItem(name: "max_age", value: String($0)) },
            loginHint.flatMap(Self.usableLoginHint).map { URLQueryItem(name: "login_hint", value: $0) },
        ].compactMap { $0 })
        // URLComponents leaves `+` as it is, and servers read a `+` in a query as a space.
        url.percentEncodedQuery = url.percentEncodedQuery?.replacingOccurrences(of: "+", with: "%2B")
        guard let location = url.string else {
            return .refused(reason: try await refuse(OIDCFailure.discoveryFailed.rawValue, issuer: settings.issuer, subject: nil, tenant: tenant, origin: origin))
        }
        return .redirect(url: location, browserToken: browserToken)
    }

    /// Handles the provider's redirect back (`code` and `state`, or `error`) and signs the user in,
    /// or refuses with a precise reason (audited; the browser gets a generic answer).
    public func finish(
        tenant: Tenant, code: String?, state: String?, providerError: String?, browserToken: String?, origin: PasswordSignIn.Origin,
        now: Date = .now
    ) async throws -> FederatedOutcome {
        guard let request = try await consume(state: state, browserToken: browserToken, tenant: tenant) else {
            return .refused(reason: try await refuse(OIDCFailure.unknownState.rawValue, issuer: nil, subject: nil, tenant: tenant, origin: origin))
        }
        guard let configuration = try await configurations.load(tenant: tenant.id, audience: request.audience), let settings = configuration.oidc else {
            return .refused(reason: try await refuse("sso_not_configured", issuer: nil, subject: nil, tenant: tenant, origin: origin))
        }
        let verified: (claims: OIDCIDToken.Claims, idToken: String, metadata: OIDCProviderMetadata)
        do throws(OIDCFailure) {
            guard providerError == nil else { throw .providerError }
            guard let code, (1...2048).contains(code.utf8.count) else { throw .codeMissing }
            verified = try await verifiedClaims(code: code, request: request, configuration: configuration, settings: settings, tenant: tenant, now: now)
        } catch {
            return .refused(reason: try await refuse(error.rawValue, issuer: settings.issuer, subject: nil, tenant: tenant, origin: origin))
        }
        let claims = verified.claims
        // Kept (sealed) only when signing out must also end the provider's session.
        let keepsIDToken = settings.logout && verified.metadata.endSessionEndpoint != nil
        let identity = FederatedIdentity(protocolName: "oidc", issuer: settings.issuer, subject: claims.subject, email: claims.email,
                                         name: claims.name, groups: claims.groups, multiFactor: claims.multiFactor)
        do {
            return try await database.withTenant(tenant.id) { connection in
                let session = try await FederatedSignIn.start(identity, tenant: tenant, configuration: configuration, region: region,
                                                              origin: origin, on: connection, logger: database.logger)
                if keepsIDToken {
                    let sealed = try await configurations.keyring.seal(Data(verified.idToken.utf8), tenant: tenant.id,
                                                                       context: Self.idTokenContext(session.sessionID))
                    try await connection.query("""
                        INSERT INTO oidc_sessions (session_id, tenant_id, audience, issuer, sealed_id_token)
                        VALUES (\(session.sessionID), \(tenant.id.rawValue), \(request.audience.rawValue), \(settings.issuer), \(ByteBuffer(data: sealed)))
                        """, logger: database.logger)
                }
                return .signedIn(user: session.user, token: session.token, sessionID: session.sessionID, expiresAt: session.expiresAt,
                                 returnTo: request.returnTo)
            }
        } catch let refusal as FederatedRefusal {
            return .refused(reason: try await refuse(refusal.reason, issuer: settings.issuer, subject: claims.subject,
                                    tenant: tenant, origin: origin, deactivating: refusal.deactivating))
        }
    }

    /// The code exchanged for an ID token whose signature, issuer, audience, lifetime, nonce and
    /// authentication time hold; then, when configured, UserInfo for the same subject.
    private func verifiedClaims(
        code: String, request: PendingRequest, configuration: SSOConfiguration, settings: OIDCSettings, tenant: Tenant, now: Date
    ) async throws(OIDCFailure) -> (claims: OIDCIDToken.Claims, idToken: String, metadata: OIDCProviderMetadata) {
        let metadata = try await providers.metadata(issuer: settings.issuer, now: now)
        let credential = try await clientCredential(settings, audience: request.audience, tokenEndpoint: metadata.tokenEndpoint, tenant: tenant, now: now)
        let tokens = try await providers.exchange(code: code, verifier: request.verifier, redirectURI: request.redirectURI, settings: settings,
                                                  credential: credential, metadata: metadata)
        let jws = try OIDCIDToken.parse(tokens.idToken)
        let algorithm = try OIDCIDToken.algorithm(of: jws)
        let keys = try await providers.keys(issuer: settings.issuer, algorithm: algorithm, keyID: jws.keyID, now: now)
        guard keys.contains(where: { $0.isValid(jws.signature, for: jws.signingInput, algorithm: algorithm) }) else { throw .signatureInvalid }
        let checker = OIDCIDToken(settings: settings, nonce: request.nonce, multiFactorContexts: configuration.multiFactorContexts, now: now,
                                  maxAge: request.maxAge, reauthenticatedAfter: request.promptsLogin ? request.startedAt : nil)
        var claims = try checker.claims(of: jws)
        if settings.userInfo {
            guard let accessToken = tokens.accessToken else { throw .userInfoFailed }
            claims = try checker.merging(userInfo: try await providers.userInfo(accessToken: accessToken, metadata: metadata), into: claims)
        }
        return (claims, tokens.idToken, metadata)
    }

    /// The client secret opened from its seal, or a client assertion signed with the tenant's key.
    private func clientCredential(_ settings: OIDCSettings, audience: SSOAudience, tokenEndpoint: String, tenant: Tenant,
                                  now: Date) async throws(OIDCFailure) -> OIDCClientCredential {
        if settings.clientAuthentication == .privateKeyJWT {
            guard let key = try? await configurations.keys.active(.oidcClient, tenant: tenant.id).first,
                  let assertion = try? OIDCClientAssertion.make(clientID: settings.clientID, tokenEndpoint: tokenEndpoint, key: key, now: now)
            else { throw .clientSecretUnusable }
            return .assertion(assertion)
        }
        guard let secret = try? await configurations.clientSecret(settings, tenant: tenant.id, audience: audience) else { throw .clientSecretUnusable }
        return .secret(secret)
    }

    static func idTokenContext(_ sessionID: UUID) -> SealContext {
        SealContext(table: "oidc_sessions", column: "sealed_id_token", rowID: sessionID.uuidString.lowercased())
    }

    /// RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): the provider's
    /// `end_session_endpoint` with the session's ID token as `id_token_hint`, the client id, and
    /// `post_logout_redirect_uri` back to the tenant's sign-in page; `nil` when the session did not
    /// come from a provider configured for it. The stored ID token is deleted either way.
    func endSessionURL(sessionID: UUID, tenant: TenantID, host: String) async throws -> String? {
        let stored = try await database.withTenant(tenant) { connection -> (SSOAudience, Data)? in
            let rows = try await connection.query("""
                DELETE FROM oidc_sessions WHERE session_id = \(sessionID) RETURNING audience, sealed_id_token
                """, logger: database.logger)
            for try await (audience, sealed) in rows.decode((String, ByteBuffer).self) {
                return SSOAudience(rawValue: audience).map { ($0, Data(buffer: sealed)) }
            }
            return nil
        }
        guard let (audience, sealed) = stored, let settings = try await configurations.load(tenant: tenant, audience: audience)?.oidc, settings.logout,
              let endpoint = try? await providers.metadata(issuer: settings.issuer).endSessionEndpoint, var url = URLComponents(string: endpoint)
        else { return nil }
        let idToken = String(decoding: try await configurations.keyring.open(sealed, tenant: tenant, context: Self.idTokenContext(sessionID)), as: UTF8.self)
        url.queryItems = (url.queryItems ?? []) + [
            URLQueryItem(name: "id_token_hint", value: idToken), URLQueryItem(name: "client_id", value: settings.clientID),
            URLQueryItem(name: "post_logout_redirect_uri", value: Self.postLogoutRedirectURI(host: host)),
        ]
        url.percentEncodedQuery = url.percentEncodedQuery?.replacingOccurrences(of: "+", with: "%2B")
        return url.string
    }

    /// Where the provider sends the browser after signing out (register it at the provider).
    public static func postLogoutRedirectURI(host: String) -> String { "https://\(host)/login" }

    /// A `login_hint` worth passing on: 1–256 bytes, printable, no controls.
    static func usableLoginHint(_ hint: String) -> String? {
        guard (1...256).contains(hint.utf8.count), hint.unicodeScalars.allSatisfy({ !CharacterSet.controlCharacters.contains($0) }) else { return nil }
        return hint
    }

    /// The request `state` names, consumed now (in its own transaction, so it is used once even
    /// when the sign-in fails later), when this browser started it and it has not expired.
    private func consume(state: String?, browserToken: String?, tenant: Tenant) async throws -> PendingRequest? {
        guard let state, (20...100).contains(state.utf8.count), let browserToken, (20...100).contains(browserToken.utf8.count) else { return nil }
        return try await database.withTenant(tenant.id) { connection in
            let rows = try await connection.query("""
                UPDATE oidc_requests SET consumed_at = now()
                WHERE state = \(state) AND browser_hash = \(SessionRepository.hash(browserToken)) AND consumed_at IS NULL AND expires_at > now()
                RETURNING audience, nonce, code_verifier, redirect_uri, return_to, max_age, prompt, created_at
                """, logger: database.logger)
            for try await (audience, nonce, verifier, redirectURI, returnTo, maxAge, prompt, startedAt)
                in rows.decode((String, String, String, String, String, Int?, String?, Date).self) {
                guard let audience = SSOAudience(rawValue: audience) else { return nil }
                return PendingRequest(audience: audience, nonce: nonce, verifier: verifier, redirectURI: redirectURI, returnTo: returnTo,
                                      maxAge: maxAge, promptsLogin: prompt?.split(separator: " ").contains("login") == true, startedAt: startedAt)
            }
            return nil
        }
    }

    /// Records a refusal (log and audit) and returns its reason.
    func refuse(_ reason: String, issuer: String?, subject: String?, tenant: Tenant,
                origin: PasswordSignIn.Origin, deactivating: UUID? = nil) async throws -> String {
        try await FederatedSignIn.recordRefusal(reason, protocolName: "oidc", issuer: issuer, subject: subject, tenant: tenant, region: region,
                                                origin: origin, database: database, deactivating: deactivating)
        return reason
    }
}
