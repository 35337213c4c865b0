import Foundation
import HTTPTypes
import Hummingbird
import RampartCore
import RampartTransport
import RampartWeb

/// The SAML service provider at each tenant's host: `GET /auth/saml/metadata`, `GET
/// /auth/saml/login` (SP-initiated, HTTP-Redirect) and `POST /auth/saml/acs` (HTTP-POST).
/// `?audience=customers` selects the customers' configuration; staff is the default.
struct SAMLRoutes: Sendable {
    let tenants: TenantRepository
    let signIn: SAMLSignIn
    let pages: IdentityPages
    let region: Region
    let baseDomain: String

    /// Binds an AuthnRequest to the browser that started it. `SameSite=None` because the IdP's
    /// answer arrives as a cross-site POST; it carries nothing but a random token.
    static let browserCookie = "__Host-rampart_saml"

    /// The one message a browser ever sees for a refused sign-in; the reason is in the audit log.
    static let refusedMessage = "Single sign-on did not succeed. Try again, or contact your administrator."

    func register(on router: Router<ServiceRequestContext>) {
        router.get("/auth/saml/metadata") { request, context -> Response in
            let (tenant, provider, _) = try await resolve(request, context)
            var response = Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: try await signIn.metadata(tenant: tenant, provider: provider))))
            response.headers[.contentType] = "application/samlmetadata+xml"
            return response
        }
        router.get("/auth/saml/login") { request, context -> Response in
            let (tenant, provider, _) = try await resolve(request, context)
            let returnTo = SignInPages.safeReturn(FormBody.parseQuery(request)["return_to"])
            guard let (url, browserToken) = try await signIn.start(tenant: tenant, provider: provider, returnTo: returnTo) else {
                throw ProblemError(status: .notFound, code: "sso_not_configured", title: "Single sign-on is not configured")
            }
            var response = Response(status: .seeOther)
            response.headers[.location] = url
            response.headers[.cacheControl] = "no-store"
            response.headers[.setCookie] = "\(Self.browserCookie)=\(browserToken); Path=/; Secure; HttpOnly; SameSite=None; Max-Age=\(Int(SAMLSignIn.requestLifetime))"
            return response
        }
        router.post("/auth/saml/acs") { request, context -> Response in
            let (tenant, provider, forwarded) = try await resolve(request, context)
            let origin = PasswordSignIn.Origin(ip: forwarded.clientIP, userAgent: request.headers[.userAgent], requestID: context.requestID)
            // Base64 makes a message a third larger; a larger body is refused before it is parsed.
            let form: FormBody
            do throws(FormBody.Failure) {
                form = try await FormBody.read(request, limit: SAMLXMLDocument.maximumBytes / 3 * 4 + 8192)
            } catch {
                let reason = error == .tooLarge ? SAMLFailure.tooLarge : .missingResponse
                return Self.respond(to: try await signIn.refuse(reason.rawValue, tenant: tenant, origin: origin), pages: pages)
            }
            guard let encoded = form["SAMLResponse"] else {
                return Self.respond(to: try await signIn.refuse(SAMLFailure.missingResponse.rawValue, tenant: tenant, origin: origin), pages: pages)
            }
            return Self.respond(to: try await signIn.finish(tenant: tenant, provider: provider, encodedResponse: encoded,
                                                            browserToken: request.cookies[Self.browserCookie]?.value,
                                                            relayState: form["RelayState"], origin: origin), pages: pages)
        }
    }

    /// The browser's answer to a federated sign-in: a redirect with the session cookie (clearing
    /// the protocol's request cookie), or the one generic refusal page.
    static func respond(to outcome: FederatedOutcome, pages: IdentityPages, clearing requestCookie: String = browserCookie) -> Response {
        switch outcome {
        case .refused:
            return pages.signInFailed()
        case .signedIn(_, let token, _, let expiresAt, let returnTo):
            var response = Response(status: .seeOther)
            response.headers[.location] = returnTo
            response.headers[.cacheControl] = "no-store"
            response.headers.append(HTTPField(name: .setCookie, value: "\(requestCookie)=; Path=/; Secure; HttpOnly; Max-Age=0"))
            response.headers.append(HTTPField(name: .setCookie, value: SignInRoutes.sessionCookie(token: token, expiresAt: expiresAt)))
            return response
        }
    }

    /// The active tenant of the forwarded host and the service provider for the audience asked for.
    private func resolve(_ request: Request, _ context: ServiceRequestContext) async throws -> (Tenant, SAMLServiceProvider, ForwardedRequest) {
        let forwarded = try ForwardedRequest(request, context: context, region: region, baseDomain: baseDomain)
        let audienceName = FormBody.parseQuery(request)["audience"] ?? SSOAudience.staff.rawValue
        guard let audience = SSOAudience(rawValue: audienceName), let tenant = try await tenants.find(slug: forwarded.tenant), tenant.status == .active
        else { throw ProblemError(status: .notFound, code: "not_found", title: "Not found") }
        return (tenant, SAMLServiceProvider(host: forwarded.host, audience: audience), forwarded)
    }
}
