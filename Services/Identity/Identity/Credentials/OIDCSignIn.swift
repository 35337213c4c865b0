import Foundation
import PostgresNIO
import RampartCore
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
    }

    func start(tenant: Tenant, audience: SSOAudience, host: String, returnTo: String, origin: PasswordSignIn.Origin) async throws -> Start? {
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
                INSERT INTO oidc_requests (state, tenant_id, audience, browser_hash, nonce, code_verifier, redirect_uri, return_to, expires_at)
                VALUES (\(state), \(tenant.id.rawValue), \(audience.rawValue), \(SessionRepository.hash(browserToken)), \(nonce), \(verifier),
                        \(redirectURI), \(returnTo), \(Date.now.addingTimeInterval(Self.requestLifetime)))
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
        let claims: OIDCIDToken.Claims
        do throws(OIDCFailure) {
            guard providerError == nil else { throw .providerError }
            guard let code, (1...2048).contains(code.utf8.count) else { throw .codeMissing }
            claims = try await verifiedClaims(code: code, request: request, configuration: configuration, settings: settings, tenant: tenant, now: now)
        } catch {
            return .refused(reason: try await refuse(error.rawValue, issuer: settings.issuer, subject: nil, tenant: tenant, origin: origin))
        }
        let identity = FederatedIdentity(protocolName: "oidc", issuer: settings.issuer, subject: claims.subject, email: claims.email,
                                         name: claims.name, groups: claims.groups, multiFactor: claims.multiFactor)
        do {
            return try await database.withTenant(tenant.id) { connection in
                let session = try await FederatedSignIn.start(identity, tenant: tenant, configuration: configuration, region: region,
                                                              origin: origin, on: connection, logger: database.logger)
                return .signedIn(user: session.user, token: session.token, sessionID: session.sessionID, expiresAt: session.expiresAt,
                                 returnTo: request.returnTo)
            }
        } catch let refusal as FederatedRefusal {
            return .refused(reason: try await refuse(refusal.reason, issuer: settings.issuer, subject: claims.subject,
                                    tenant: tenant, origin: origin, deactivating: refusal.deactivating))
        }
    }

    /// The code exchanged for an ID token whose signature, issuer, audience, lifetime and nonce hold.
    private func verifiedClaims(
        code: String, request: PendingRequest, configuration: SSOConfiguration, settings: OIDCSettings, tenant: Tenant, now: Date
    ) async throws(OIDCFailure) -> OIDCIDToken.Claims {
        guard let secret = try? await configurations.clientSecret(settings, tenant: tenant.id, audience: request.audience) else {
            throw .clientSecretUnusable
        }
        let metadata = try await providers.metadata(issuer: settings.issuer, now: now)
        let token = try await providers.exchange(code: code, verifier: request.verifier, redirectURI: request.redirectURI, settings: settings,
                                                 clientSecret: secret, metadata: metadata)
        let jws = try OIDCIDToken.parse(token)
        let algorithm = try OIDCIDToken.algorithm(of: jws)
        let keys = try await providers.keys(issuer: settings.issuer, algorithm: algorithm, keyID: jws.keyID, now: now)
        guard keys.contains(where: { $0.isValid(jws.signature, for: jws.signingInput, algorithm: algorithm) }) else { throw .signatureInvalid }
        return try OIDCIDToken(settings: settings, nonce: request.nonce, multiFactorContexts: configuration.multiFactorContexts, now: now)
            .claims(of: jws)
    }

    /// The request `state` names, consumed now (in its own transaction, so it is used once even
    /// when the sign-in fails later), when this browser started it and it has not expired.
    private func consume(state: String?, browserToken: String?, tenant: Tenant) async throws -> PendingRequest? {
        guard let state, (20...100).contains(state.utf8.count), let browserToken, (20...100).contains(browserToken.utf8.count) else { return nil }
        return try await database.withTenant(tenant.id) { connection in
            let rows = try await connection.query("""
                UPDATE oidc_requests SET consumed_at = now()
                WHERE state = \(state) AND browser_hash = \(SessionRepository.hash(browserToken)) AND consumed_at IS NULL AND expires_at > now()
                RETURNING audience, nonce, code_verifier, redirect_uri, return_to
                """, logger: database.logger)
            for try await (audience, nonce, verifier, redirectURI, returnTo) in rows.decode((String, String, String, String, String).self) {
                guard let audience = SSOAudience(rawValue: audience) else { return nil }
                return PendingRequest(audience: audience, nonce: nonce, verifier: verifier, redirectURI: redirectURI, returnTo: returnTo)
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
