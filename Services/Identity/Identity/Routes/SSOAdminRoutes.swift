import Foundation
import Hummingbird
import RampartCore
import RampartSecurity
import RampartTransport

/// Single sign-on configuration: `GET /api/v1/sso`, `GET` and `PUT /api/v1/sso/{staff|customers}`
/// for tenant admins (`security:write`; one audience answers with its `ETag`, and a `PUT` with
/// `If-Match` applies only to that version), and the same for operators under
/// `/internal/v1/operator/tenants/{slug}/sso` (`rampartctl sso show|set`). Every change is audited.
struct SSOAdminRoutes: Sendable {
    let tenants: TenantRepository
    let configurations: SSOConfigurationRepository
    let region: Region
    let baseDomain: String

    /// One audience as an admin sees it: what to give the IdP, and what is configured.
    struct AudienceView: Codable, Sendable {
        var audience: SSOAudience
        var serviceProvider: ServiceProviderView
        var configuration: SSOConfiguration?
        var certificateFingerprints: [String]
        /// The stored configuration's version (`SSOConfigurationRepository.version(of:)`): the
        /// `ETag` of this audience, and what the console's form carries.
        var version: String

        enum CodingKeys: String, CodingKey {
            case audience, configuration, version
            case serviceProvider = "service_provider"
            case certificateFingerprints = "certificate_sha256"
        }
    }

    struct ServiceProviderView: Codable, Sendable {
        var entityID: String
        var acsURL: String
        var metadataURL: String
        /// The redirect URI to register with an OpenID Connect provider.
        var oidcRedirectURI: String
        /// The JWKS of the tenant's `private_key_jwt` keys, for the provider to fetch.
        var oidcJWKSURI: String
        /// Where the provider returns the browser after RP-initiated logout.
        var oidcPostLogoutRedirectURI: String
        /// The tenant's own keys by use (SHA-256 of each certificate, newest first); made on first use.
        var keyFingerprints: [String: [String]] = [:]

        enum CodingKeys: String, CodingKey {
            case entityID = "entity_id"
            case acsURL = "acs_url"
            case metadataURL = "metadata_url"
            case oidcRedirectURI = "oidc_redirect_uri"
            case oidcJWKSURI = "oidc_jwks_uri"
            case oidcPostLogoutRedirectURI = "oidc_post_logout_redirect_uri"
            case keyFingerprints = "key_sha256"
        }
    }

    /// A tenant's own keys of one use after a rotation or retirement, newest (the signing one) first.
    struct KeysView: Codable, Sendable, ResponseEncodable {
        var use: SSOKeyUse
        var certificateFingerprints: [String]

        enum CodingKeys: String, CodingKey {
            case use
            case certificateFingerprints = "certificate_sha256"
        }
    }

    func register(on router: Router<ServiceRequestContext>) {
        let admin = router.group("/api/v1/sso", context: AuthenticatedContext.self)
        admin.get { _, context -> DataList<AudienceView> in
            try CredentialAdminRoutes.requireSecurityAdmin(context.principal)
            return DataList(data: try await views(tenant: context.principal.tenantID, slug: context.principal.tenantSlug))
        }
        admin.get("{audience}") { request, context -> Response in
            try CredentialAdminRoutes.requireSecurityAdmin(context.principal)
            let audience = try Self.audience(context.parameters.get("audience"))
            let views = try await views(tenant: context.principal.tenantID, slug: context.principal.tenantSlug, audiences: [audience])
            guard let view = views.first else { throw ProblemError(status: .notFound, code: "not_found", title: "Not found") }
            return try Self.response(view, request, context)
        }
        admin.put("{audience}") { request, context -> Response in
            let actor = try CredentialAdminRoutes.requireSecurityAdmin(context.principal)
            let admits = try EntityTag.check(request.headers, mismatch: Self.changedMeanwhile)
            let input = try await IdentityRequest.decode(SSOConfigurationInput.self, from: request, context: context)
            let saved = try await save(input, audienceName: context.parameters.get("audience"), tenant: context.principal.tenantID,
                                       slug: context.principal.tenantSlug, actor: actor, requestID: context.requestID) { stored in
                try admits(SSOConfigurationRepository.version(of: stored))
            }
            return try Self.response(saved, request, context)
        }
        // Rotation adds a new current key and keeps the previous one for the rollover; retiring ends it.
        for action in ["rotate", "retire"] {
            admin.post("keys/{use}/\(action)") { _, context -> KeysView in
                let actor = try CredentialAdminRoutes.requireSecurityAdmin(context.principal)
                return try await changeKeys(action, useName: context.parameters.get("use"), tenant: context.principal.tenantID, actor: actor,
                                            requestID: context.requestID)
            }
        }
        let operators = router.group("/internal/v1/operator/tenants/{slug}/sso")
        for action in ["rotate", "retire"] {
            operators.post("keys/{use}/\(action)") { _, context -> KeysView in
                let actor = try OperatorRoutes.operatorActor(context)
                let tenant = try await operatorTenant(context)
                return try await changeKeys(action, useName: context.parameters.get("use"), tenant: tenant.id, actor: actor, requestID: context.requestID)
            }
        }
        operators.get { _, context -> DataList<AudienceView> in
            _ = try OperatorRoutes.operatorActor(context)
            let tenant = try await operatorTenant(context)
            return DataList(data: try await views(tenant: tenant.id, slug: tenant.slug))
        }
        operators.post("{audience}") { request, context -> AudienceView in
            let actor = try OperatorRoutes.operatorActor(context)
            let tenant = try await operatorTenant(context)
            let input = try await IdentityRequest.decode(SSOConfigurationInput.self, from: request, context: context)
            return try await save(input, audienceName: context.parameters.get("audience"), tenant: tenant.id, slug: tenant.slug,
                                  actor: actor, requestID: context.requestID)
        }
    }

    /// Validates and stores one audience's configuration; shared by the APIs and the admin console.
    /// `check` sees the stored configuration under the repository's lock and may refuse the change.
    func save(_ input: SSOConfigurationInput, audienceName: String?, tenant: TenantID, slug: TenantSlug, actor: AuditEvent.Actor,
              requestID: String?, check: (SSOConfiguration?) throws -> Void = { _ in }) async throws -> AudienceView {
        let audience = try Self.audience(audienceName)
        switch input.configuration(for: audience) {
        case .failure(let problems):
            throw Self.problem(problems)
        case .success(let configuration):
            do {
                let saved = try await configurations.save(configuration, sharedSecret: input.jwt?.sharedSecret, clientSecret: input.oidc?.clientSecret,
                                                          tenant: tenant, actor: actor, requestID: requestID, check: check)
                return view(audience, configuration: saved, slug: slug)
            } catch let problems as SSOConfigurationProblems {
                throw Self.problem(problems)
            }
        }
    }

    func changeKeys(_ action: String, useName: String?, tenant: TenantID, actor: AuditEvent.Actor, requestID: String?) async throws -> KeysView {
        guard let use = useName.flatMap(SSOKeyUse.init(rawValue:)) else {
            throw ProblemError(status: .notFound, code: "not_found", title: "Not found",
                               detail: "The key use is saml_encryption, saml_signing or oidc_client.")
        }
        let keys = action == "rotate"
            ? try await configurations.keys.rotate(use, tenant: tenant, actor: actor, requestID: requestID)
            : try await configurations.keys.retirePrevious(use, tenant: tenant, actor: actor, requestID: requestID)
        return KeysView(use: use, certificateFingerprints: keys.map(\.fingerprint))
    }

    /// The audience a path names (anything else: 404).
    static func audience(_ name: String?) throws -> SSOAudience {
        guard let audience = name.flatMap(SSOAudience.init(rawValue:)) else {
            throw ProblemError(status: .notFound, code: "not_found", title: "Not found", detail: "The audience is staff or customers.")
        }
        return audience
    }

    /// `If-Match` named another version than the stored one (or could not be read).
    static let changedMeanwhile = EntityTag.mismatch(detail: "The configuration changed since the version named in If-Match; fetch it again.")

    /// One audience with its version as the `ETag`.
    private static func response(_ view: AudienceView, _ request: Request, _ context: some RequestContext) throws -> Response {
        var response = try view.response(from: request, context: context)
        response.headers[.eTag] = EntityTag.quoted(view.version)
        return response
    }

    static func problem(_ problems: SSOConfigurationProblems) -> ProblemError {
        ProblemError(status: .unprocessableContent, code: "invalid_input", title: "Invalid input",
                     fieldErrors: problems.fields.sorted { $0.key < $1.key }.map { .init(field: $0.key, message: $0.value) })
    }

    func views(tenant: TenantID, slug: TenantSlug, audiences: [SSOAudience] = SSOAudience.allCases) async throws -> [AudienceView] {
        var views: [AudienceView] = []
        var keys: [String: [String]] = [:]
        for use in SSOKeyUse.allCases { keys[use.rawValue] = try await configurations.keys.existing(use, tenant: tenant).map(\.fingerprint) }
        for audience in audiences {
            var view = view(audience, configuration: try await configurations.load(tenant: tenant, audience: audience), slug: slug)
            view.serviceProvider.keyFingerprints = keys
            views.append(view)
        }
        return views
    }

    /// The view of a configuration: sealed secrets (HS256, OIDC client) are never returned, only whether one is set.
    private func view(_ audience: SSOAudience, configuration stored: SSOConfiguration?, slug: TenantSlug) -> AudienceView {
        var configuration = stored
        if configuration?.jwt?.sealedSecret != nil { configuration?.jwt?.sealedSecret = "set" }
        if configuration?.oidc?.sealedSecret != nil { configuration?.oidc?.sealedSecret = "set" }
        let host = "\(slug).\(region).\(baseDomain)"
        let provider = SAMLServiceProvider(host: host, audience: audience)
        return AudienceView(
            audience: audience,
            serviceProvider: ServiceProviderView(entityID: provider.entityID, acsURL: provider.acsURL, metadataURL: provider.entityID,
                                                 oidcRedirectURI: OIDCSignIn.redirectURI(host: host), oidcJWKSURI: "https://\(host)/auth/oidc/jwks",
                                                 oidcPostLogoutRedirectURI: OIDCSignIn.postLogoutRedirectURI(host: host)),
            configuration: configuration, certificateFingerprints: configuration?.saml?.certificates.map(SAMLCertificate.fingerprint) ?? [],
            version: SSOConfigurationRepository.version(of: stored)
        )
    }

    private func operatorTenant(_ context: ServiceRequestContext) async throws -> Tenant {
        guard let slug = context.parameters.get("slug").flatMap(TenantSlug.init(rawValue:)), let tenant = try await tenants.find(slug: slug)
        else { throw IdentityError.tenantNotFound.problem }
        return tenant
    }
}

extension SSOAdminRoutes.AudienceView: ResponseEncodable {}
