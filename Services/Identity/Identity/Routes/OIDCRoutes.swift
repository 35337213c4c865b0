import Foundation
import HTTPTypes
import Hummingbird
import RampartCore
import RampartTransport
import RampartWeb

/// The OpenID Connect relying party at each tenant's host: `GET /auth/oidc/login` (authorization
/// code with PKCE; `?audience=customers` selects the customers' provider, `login_hint` is passed
/// on), `GET /auth/oidc/callback` (the provider's redirect back, for both audiences) and `GET
/// /auth/oidc/jwks` (the tenant's `private_key_jwt` public keys).
struct OIDCRoutes: Sendable {
    let tenants: TenantRepository
    let signIn: OIDCSignIn
    let pages: IdentityPages
    let region: Region
    let baseDomain: String

    /// Binds an authorization request to the browser that started it. The provider sends the
    /// browser back with a top-level GET, which `SameSite=Lax` allows; it carries nothing but a random token.
    static let browserCookie = "__Host-rampart_oidc"

    func register(on router: Router<ServiceRequestContext>) {
        router.get("/auth/oidc/login") { request, context -> Response in
            let (tenant, forwarded, origin) = try await resolve(request, context)
            let query = FormBody.parseQuery(request)
            guard let audience = SSOAudience(rawValue: query["audience"] ?? SSOAudience.staff.rawValue) else {
                throw ProblemError(status: .notFound, code: "not_found", title: "Not found")
            }
            switch try await signIn.start(tenant: tenant, audience: audience, host: forwarded.host,
                                          returnTo: SignInPages.safeReturn(query["return_to"]), loginHint: query["login_hint"], origin: origin) {
            case nil:
                throw ProblemError(status: .notFound, code: "sso_not_configured", title: "Single sign-on is not configured")
            case .refused:
                return pages.signInFailed()
            case .redirect(let url, let browserToken):
                var response = Response(status: .seeOther)
                response.headers[.location] = url
                response.headers[.cacheControl] = "no-store"
                response.headers[.setCookie] = "\(Self.browserCookie)=\(browserToken); Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=\(Int(OIDCSignIn.requestLifetime))"
                return response
            }
        }
        // The public keys of the tenant's private_key_jwt client authentication, for its providers to fetch.
        router.get("/auth/oidc/jwks") { request, context -> Response in
            let (tenant, _, _) = try await resolve(request, context)
            let keys = try await signIn.configurations.keys.active(.oidcClient, tenant: tenant.id)
            var response = Response(status: .ok, body: .init(byteBuffer: ByteBuffer(data: try JSONSerialization.data(
                withJSONObject: try OIDCClientAssertion.jwks(keys), options: [.sortedKeys]))))
            response.headers[.contentType] = "application/jwk-set+json"
            response.headers[.cacheControl] = "max-age=300"
            return response
        }
        router.get("/auth/oidc/callback") { request, context -> Response in
            let (tenant, _, origin) = try await resolve(request, context)
            let query = FormBody.parseQuery(request)
            let outcome = try await signIn.finish(tenant: tenant, code: query["code"], state: query["state"], providerError: query["error"],
                                                  browserToken: request.cookies[Self.browserCookie]?.value, origin: origin)
            return SAMLRoutes.respond(to: outcome, pages: pages, clearing: Self.browserCookie)
        }
    }

    /// The active tenant of the forwarded host.
    private func resolve(_ request: Request, _ context: ServiceRequestContext) async throws -> (Tenant, ForwardedRequest, PasswordSignIn.Origin) {
        let forwarded = try ForwardedRequest(request, context: context, region: region, baseDomain: baseDomain)
        guard let tenant = try await tenants.find(slug: forwarded.tenant), tenant.status == .active else {
            throw ProblemError(status: .notFound, code: "not_found", title: "Not found")
        }
        return (tenant, forwarded, PasswordSignIn.Origin(ip: forwarded.clientIP, userAgent: request.headers[.userAgent], requestID: context.requestID))
    }
}
