import Foundation
import Hummingbird
import RampartCore
import RampartSecurity
import RampartTransport

/// Single sign-on configuration: `GET /api/v1/sso` and `PUT /api/v1/sso/{staff|customers}` for
/// tenant admins (`security:write`), and the same for operators under
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

        enum CodingKeys: String, CodingKey {
            case audience, configuration
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

        enum CodingKeys: String, CodingKey {
            case entityID = "entity_id"
            case acsURL = "acs_url"
            case metadataURL = "metadata_url"
            case oidcRedirectURI = "oidc_redirect_uri"
        }
    }

    func register(on router: Router<ServiceRequestContext>) {
        let admin = router.group("/api/v1/sso", context: AuthenticatedContext.self)
        admin.get { _, context -> DataList<AudienceView> in
            try CredentialAdminRoutes.requireSecurityAdmin(context.principal)
            return DataList(data: try await views(tenant: context.principal.tenantID, slug: context.principal.tenantSlug))
        }
        admin.put("{audience}") { request, context -> AudienceView in
            let actor = try CredentialAdminRoutes.requireSecurityAdmin(context.principal)
            let input = try await IdentityRequest.decode(SSOConfigurationInput.self, from: request, context: context)
            return try await save(input, audienceName: context.parameters.get("audience"), tenant: context.principal.tenantID,
                                  slug: context.principal.tenantSlug, actor: actor, requestID: context.requestID)
        }
        let operators = router.group("/internal/v1/operator/tenants/{slug}/sso")
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

    private func save(_ input: SSOConfigurationInput, audienceName: String?, tenant: TenantID, slug: TenantSlug, actor: AuditEvent.Actor,
                      requestID: String?) async throws -> AudienceView {
        guard let audience = audienceName.flatMap(SSOAudience.init(rawValue:)) else {
            throw ProblemError(status: .notFound, code: "not_found", title: "Not found", detail: "The audience is staff or customers.")
        }
        switch input.configuration(for: audience) {
        case .failure(let problems):
            throw Self.problem(problems)
        case .success(let configuration):
            do {
                let saved = try await configurations.save(configuration, sharedSecret: input.jwt?.sharedSecret,
                                                          clientSecret: input.oidc?.clientSecret, tenant: tenant, actor: actor, requestID: requestID)
                return view(audience, configuration: saved, slug: slug)
            } catch let problems as SSOConfigurationProblems {
                throw Self.problem(problems)
            }
        }
    }

    static func problem(_ problems: SSOConfigurationProblems) -> ProblemError {
        ProblemError(status: .unprocessableContent, code: "invalid_input", title: "Invalid input",
                     fieldErrors: problems.fields.sorted { $0.key < $1.key }.map { .init(field: $0.key, message: $0.value) })
    }

    private func views(tenant: TenantID, slug: TenantSlug) async throws -> [AudienceView] {
        var views: [AudienceView] = []
        for audience in SSOAudience.allCases {
            views.append(view(audience, configuration: try await configurations.load(tenant: tenant, audience: audience), slug: slug))
        }
        return views
    }

    /// The view of a configuration: sealed secrets (HS256, OIDC client) are never returned, only whether one is set.
    private func view(_ audience: SSOAudience, configuration: SSOConfiguration?, slug: TenantSlug) -> AudienceView {
        var configuration = configuration
        if configuration?.jwt?.sealedSecret != nil { configuration?.jwt?.sealedSecret = "set" }
        if configuration?.oidc?.sealedSecret != nil { configuration?.oidc?.sealedSecret = "set" }
        let host = "\(slug).\(region).\(baseDomain)"
        let provider = SAMLServiceProvider(host: host, audience: audience)
        return AudienceView(
            audience: audience,
            serviceProvider: ServiceProviderView(entityID: provider.entityID, acsURL: provider.acsURL, metadataURL: provider.entityID,
                                                 oidcRedirectURI: OIDCSignIn.redirectURI(host: host)),
            configuration: configuration, certificateFingerprints: configuration?.saml?.certificates.map(SAMLCertificate.fingerprint) ?? []
        )
    }

    private func operatorTenant(_ context: ServiceRequestContext) async throws -> Tenant {
        guard let slug = context.parameters.get("slug").flatMap(TenantSlug.init(rawValue:)), let tenant = try await tenants.find(slug: slug)
        else { throw IdentityError.tenantNotFound.problem }
        return tenant
    }
}

extension SSOAdminRoutes.AudienceView: ResponseEncodable {}
