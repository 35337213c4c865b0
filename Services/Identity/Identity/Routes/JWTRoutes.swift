import Foundation
import HTTPTypes
import Hummingbird
import RampartCore
import RampartTransport
import RampartWeb

/// `GET /auth/jwt?jwt=…&return_to=…[&audience=customers]` at a tenant's host: JWT SSO. Success
/// starts a session and returns the browser to `return_to` on the tenant's own host only.
struct JWTRoutes: Sendable {
    let tenants: TenantRepository
    let signIn: JWTSignIn
    let pages: IdentityPages
    let region: Region
    let baseDomain: String

    func register(on router: Router<ServiceRequestContext>) {
        router.get("/auth/jwt") { request, context -> Response in
            let forwarded = try ForwardedRequest(request, context: context, region: region, baseDomain: baseDomain)
            let query = FormBody.parseQuery(request)
            guard let audience = SSOAudience(rawValue: query["audience"] ?? SSOAudience.staff.rawValue),
                  let tenant = try await tenants.find(slug: forwarded.tenant), tenant.status == .active
            else { throw ProblemError(status: .notFound, code: "not_found", title: "Not found") }
            let origin = PasswordSignIn.Origin(ip: forwarded.clientIP, userAgent: request.headers[.userAgent], requestID: context.requestID)
            let outcome = try await signIn.finish(tenant: tenant, audience: audience, token: query["jwt"] ?? "",
                                                  returnTo: Self.returnPath(query["return_to"], host: forwarded.host), origin: origin)
            return SAMLRoutes.respond(to: outcome, pages: pages)
        }
    }

    /// A local path, or an `https` URL on exactly this tenant host reduced to its path; anything
    /// else (another host, a scheme-relative `//host`, another scheme) becomes `/`.
    static func returnPath(_ candidate: String?, host: String) -> String {
        guard let candidate, !candidate.hasPrefix("/") else { return SignInPages.safeReturn(candidate) }
        guard let url = URLComponents(string: candidate), url.scheme == "https", url.user == nil, url.password == nil,
              let urlHost = url.host?.lowercased(), urlHost + (url.port.map { ":\($0)" } ?? "") == host
        else { return "/" }
        return SignInPages.safeReturn((url.percentEncodedPath.isEmpty ? "/" : url.percentEncodedPath) + (url.percentEncodedQuery.map { "?" + $0 } ?? ""))
    }
}
