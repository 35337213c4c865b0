import Foundation
import RampartCore
import RampartStorage

/// JWT SSO sign-in: the tenant's site vouches for a user with a short-lived signed JWT. The token
/// is verified with the configured key only, its `jti` is used once, and the identity goes to
/// `FederatedSignIn` like a SAML assertion's. Every refusal is audited with its reason.
public struct JWTSignIn: Sendable {
    public let database: Database
    public let region: Region
    public let configurations: SSOConfigurationRepository

    public init(database: Database, region: Region, configurations: SSOConfigurationRepository) {
        self.database = database
        self.region = region
        self.configurations = configurations
    }

    public func finish(
        tenant: Tenant, audience: SSOAudience, token: String, returnTo: String, origin: PasswordSignIn.Origin, now: Date = .now
    ) async throws -> FederatedOutcome {
        guard let configuration = try await configurations.load(tenant: tenant.id, audience: audience), let settings = configuration.jwt else {
            return try await refuse("sso_not_configured", issuer: nil, subject: nil, tenant: tenant, origin: origin)
        }
        let key: JWTSSOToken.VerificationKey
        if settings.algorithm == .hs256 {
            guard let secret = try await configurations.sharedSecret(settings, tenant: tenant.id, audience: audience) else {
                return try await refuse(JWTSSOFailure.keyUnusable.rawValue, issuer: settings.issuer, subject: nil, tenant: tenant, origin: origin)
            }
            key = .hmac(secret)
        } else {
            guard let publicKey = try? JWTSSOToken.VerificationKey(algorithm: settings.algorithm, publicKeyPEM: settings.publicKeyPEM ?? "") else {
                return try await refuse(JWTSSOFailure.keyUnusable.rawValue, issuer: settings.issuer, subject: nil, tenant: tenant, origin: origin)
            }
            key = publicKey
        }
        let claims: JWTSSOToken.Claims
        do throws(JWTSSOFailure) {
            claims = try JWTSSOToken(settings: settings, key: key, now: now).verify(token)
        } catch {
            return try await refuse(error.rawValue, issuer: settings.issuer, subject: nil, tenant: tenant, origin: origin)
        }
        let identity = FederatedIdentity(protocolName: "jwt", issuer: claims.issuer, subject: claims.subject, email: claims.email,
                                         name: claims.name, groups: claims.groups, multiFactor: claims.multiFactor)
        do {
            return try await database.withTenant(tenant.id) { connection in
                try await FederatedSignIn.rememberOnce(claims.tokenID, issuer: claims.issuer, until: claims.expiresAt, tenant: tenant,
                                                       replayReason: JWTSSOFailure.replayed.rawValue, on: connection, logger: database.logger)
                let session = try await FederatedSignIn.start(identity, tenant: tenant, configuration: configuration, region: region,
                                                              origin: origin, on: connection, logger: database.logger)
                return .signedIn(user: session.user, token: session.token, sessionID: session.sessionID, expiresAt: session.expiresAt,
                                 returnTo: returnTo)
            }
        } catch let refusal as FederatedRefusal {
            return try await refuse(refusal.reason, issuer: claims.issuer, subject: claims.subject,
                                    tenant: tenant, origin: origin, deactivating: refusal.deactivating)
        }
    }

    func refuse(_ reason: String, issuer: String?, subject: String?, tenant: Tenant,
                origin: PasswordSignIn.Origin, deactivating: UUID? = nil) async throws -> FederatedOutcome {
        try await FederatedSignIn.recordRefusal(reason, protocolName: "jwt", issuer: issuer, subject: subject, tenant: tenant, region: region,
                                                origin: origin, database: database, deactivating: deactivating)
        return .refused(reason: reason)
    }
}
