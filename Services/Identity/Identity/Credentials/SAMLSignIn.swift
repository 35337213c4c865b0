import Foundation
import PostgresNIO
import RampartCore
import RampartStorage

/// SAML 2.0 sign-in for one region: SP-initiated requests bound to the browser, and the ACS
/// that validates a response, consumes its request once, remembers its assertion id until it
/// expires, and hands the identity to `FederatedSignIn`. Every refusal is audited with its reason.
public struct SAMLSignIn: Sendable {
    public let database: Database
    public let region: Region
    public let configurations: SSOConfigurationRepository

    public init(database: Database, region: Region, configurations: SSOConfigurationRepository) {
        self.database = database
        self.region = region
        self.configurations = configurations
    }

    /// How long an AuthnRequest may stay unanswered.
    static let requestLifetime: TimeInterval = 600

    public typealias Outcome = FederatedOutcome

    /// Stores a new request bound to a fresh browser token; returns the IdP URL to redirect to and
    /// the token for the browser's cookie, or `nil` when the audience has no SAML configuration.
    public func start(tenant: Tenant, provider: SAMLServiceProvider, returnTo: String) async throws -> (url: String, browserToken: String)? {
        guard let saml = try await configurations.load(tenant: tenant.id, audience: provider.audience)?.saml else { return nil }
        let requestID = SAMLServiceProvider.newRequestID()
        let browserToken = SessionRepository.newToken()
        let signingKey = saml.signAuthnRequests ? try await configurations.keys.active(.samlSigning, tenant: tenant.id).first?.privateKey : nil
        guard let url = provider.redirect(to: saml, requestID: requestID, relayState: returnTo, signingKey: signingKey) else { return nil }
        try await database.withTenant(tenant.id) { connection in
            try await connection.query("""
                INSERT INTO saml_requests (id, tenant_id, audience, browser_hash, return_to, expires_at)
                VALUES (\(requestID), \(tenant.id.rawValue), \(provider.audience.rawValue), \(SessionRepository.hash(browserToken)),
                        \(returnTo), \(Date.now.addingTimeInterval(Self.requestLifetime)))
                """, logger: database.logger)
        }
        return (url, browserToken)
    }

    /// The SP metadata of `provider`: the tenant's signing and encryption certificates (made on
    /// first use), and whether its requests are signed.
    public func metadata(tenant: Tenant, provider: SAMLServiceProvider) async throws -> String {
        let saml = try await configurations.load(tenant: tenant.id, audience: provider.audience)?.saml
        return provider.metadataXML(signingCertificates: try await configurations.keys.active(.samlSigning, tenant: tenant.id).map(\.certificate),
                                    encryptionCertificates: try await configurations.keys.active(.samlEncryption, tenant: tenant.id).map(\.certificate),
                                    signsRequests: saml?.signAuthnRequests ?? false)
    }

    /// Validates a posted `SAMLResponse` and signs the user in, or refuses with a precise reason
    /// (audited; the browser gets a generic answer).
    public func finish(
        tenant: Tenant, provider: SAMLServiceProvider, encodedResponse: String, browserToken: String?, relayState: String?,
        origin: PasswordSignIn.Origin, now: Date = .now
    ) async throws -> Outcome {
        guard let configuration = try await configurations.load(tenant: tenant.id, audience: provider.audience), let saml = configuration.saml else {
            return try await refuse("sso_not_configured", issuer: nil, subject: nil, tenant: tenant, origin: origin)
        }
        // Existing keys only: a response can only have been encrypted to a key already published.
        let decryptionKeys = try await configurations.keys.existing(.samlEncryption, tenant: tenant.id)
        let assertion: SAMLAssertion
        do throws(SAMLFailure) {
            var validator = SAMLResponseValidator(serviceProvider: provider, identityProvider: saml, now: now)
            validator.decryptionKeysPEM = decryptionKeys.map(\.privateKey.pemRepresentation)
            assertion = try validator.validate(encoded: encodedResponse)
        } catch {
            return try await refuse(error.rawValue, issuer: saml.entityID, subject: nil, tenant: tenant, origin: origin)
        }
        let identity = Self.identity(from: assertion, configuration: configuration)
        do {
            return try await database.withTenant(tenant.id) { connection in
                let returnTo = try await consumeRequest(assertion, configuration: configuration, provider: provider,
                                                        browserToken: browserToken, relayState: relayState, on: connection)
                try await FederatedSignIn.rememberOnce(assertion.id, issuer: assertion.issuer, until: assertion.notOnOrAfter, tenant: tenant,
                                                       replayReason: SAMLFailure.replayed.rawValue, on: connection, logger: database.logger)
                let session = try await FederatedSignIn.start(identity, tenant: tenant, configuration: configuration, region: region,
                                                              origin: origin, on: connection, logger: database.logger)
                return .signedIn(user: session.user, token: session.token, sessionID: session.sessionID, expiresAt: session.expiresAt,
                                 returnTo: returnTo)
            }
        } catch let refusal as FederatedRefusal {
            return try await refuse(refusal.reason, issuer: assertion.issuer, subject: assertion.subject,
                                    tenant: tenant, origin: origin, deactivating: refusal.deactivating)
        }
    }

    /// The outstanding request this response answers, consumed now, when it was started by this
    /// browser for this audience; for an unsolicited response, only when the tenant allows them.
    private func consumeRequest(
        _ assertion: SAMLAssertion, configuration: SSOConfiguration, provider: SAMLServiceProvider, browserToken: String?,
        relayState: String?, on connection: PostgresConnection
    ) async throws -> String {
        guard let requestID = assertion.inResponseTo else {
            guard configuration.saml?.allowIdPInitiated == true else { throw FederatedRefusal(reason: SAMLFailure.unsolicited.rawValue) }
            return SignInPages.safeReturn(relayState)
        }
        guard let browserToken, (20...100).contains(browserToken.utf8.count) else { throw FederatedRefusal(reason: SAMLFailure.unknownRequest.rawValue) }
        let rows = try await connection.query("""
            UPDATE saml_requests SET consumed_at = now()
            WHERE id = \(requestID) AND audience = \(provider.audience.rawValue) AND browser_hash = \(SessionRepository.hash(browserToken))
              AND consumed_at IS NULL AND expires_at > now()
            RETURNING return_to
            """, logger: database.logger)
        for try await returnTo in rows.decode(String.self) { return returnTo }
        throw FederatedRefusal(reason: SAMLFailure.unknownRequest.rawValue)
    }

    /// The attributes the configuration names, read from the verified assertion.
    static func identity(from assertion: SAMLAssertion, configuration: SSOConfiguration) -> FederatedIdentity {
        let contexts = assertion.authenticationContexts + (assertion.attributes["http://schemas.microsoft.com/claims/authnmethodsreferences"] ?? [])
        return FederatedIdentity(
            protocolName: "saml", issuer: assertion.issuer, subject: assertion.subject,
            email: assertion.attributes[configuration.attributes.email]?.first ?? (assertion.subject.contains("@") ? assertion.subject : nil),
            name: assertion.attributes[configuration.attributes.name]?.first,
            groups: assertion.attributes[configuration.attributes.groups] ?? [],
            multiFactor: contexts.contains { configuration.multiFactorContexts.contains($0) }
        )
    }

    /// Records a refusal (log and audit) and answers it.
    func refuse(_ reason: String, issuer: String? = nil, subject: String? = nil, tenant: Tenant,
                origin: PasswordSignIn.Origin, deactivating: UUID? = nil) async throws -> Outcome {
        try await FederatedSignIn.recordRefusal(reason, protocolName: "saml", issuer: issuer, subject: subject, tenant: tenant, region: region,
                                                origin: origin, database: database, deactivating: deactivating)
        return .refused(reason: reason)
    }
}
