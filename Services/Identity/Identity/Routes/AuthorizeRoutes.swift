import Foundation
import Hummingbird
import RampartCore
import RampartSecurity
import RampartTransport
import RampartWeb

/// `GET /oauth/authorize` shows a signed-in user the consent page for a partner application;
/// `POST /oauth/authorize` records their decision and sends the browser back to the client with
/// a code or `access_denied`. A bad client or redirect URI is shown on the page and never
/// redirected to (RFC 6749 §4.1.2.1).
struct AuthorizeRoutes: Sendable {
    let tenants: TenantRepository
    let users: UserRepository
    let clients: OAuthClientRepository
    let grants: OAuthGrants
    let csrf: CSRFToken
    let pages: IdentityPages
    let region: Region
    let baseDomain: String

    func register(on router: Router<ServiceRequestContext>) {
        router.get("/oauth/authorize") { request, context -> Response in
            try await handle(request, context, fields: FormBody.parseQuery(request), decision: nil)
        }
        router.post("/oauth/authorize") { request, context -> Response in
            guard let form = try? await FormBody.read(request) else {
                return errorPage("The form could not be read. Start again from the application.")
            }
            return try await handle(request, context, fields: form.fields, decision: form["decision"] ?? "", csrfToken: form["csrf_token"])
        }
    }

    private func handle(_ request: Request, _ context: ServiceRequestContext, fields: [String: String], decision: String?, csrfToken: String? = nil) async throws -> Response {
        let forwarded = try ForwardedRequest(request, context: context, region: region, baseDomain: baseDomain)
        guard let tenant = try await tenants.find(slug: forwarded.tenant), tenant.status == .active else {
            return errorPage("This application cannot be authorized here.")
        }
        let parsed: AuthorizationRequest
        switch try await AuthorizationRequest.parse(fields, tenant: tenant.id, clients: clients) {
        case .page(let message): return errorPage(message)
        case .redirect(let error, let target): return Self.redirect(target.error(error, issuer: "https://\(forwarded.host)"))
        case .valid(let valid): parsed = valid
        }
        guard let principal = context.principal else {
            // Not signed in: sign in first, then come back to this very request.
            let back = "/oauth/authorize?" + Self.encode(fields.filter { AuthorizationRequest.parameterNames.contains($0.key) })
            return Self.redirect("/login?return_to=" + (back.addingPercentEncoding(withAllowedCharacters: .urlQueryValueAllowed) ?? "/"))
        }
        guard principal.tenantID == tenant.id, let sessionID = principal.sessionID,
              let user = try await MeRoutes.user(of: principal, users: users), user.status == .active
        else { return errorPage("Sign in to your account in a browser to authorize applications.", status: .forbidden) }
        let scopes = parsed.requestedScopes.filter { principal.has(scope: $0) }
        guard !scopes.isEmpty else { return Self.redirect(parsed.error(.init(.invalidScope, "None of the requested scopes are available to you."), issuer: "https://\(forwarded.host)")) }

        guard let decision else {
            return consentPage(parsed, scopes: scopes, user: user, csrfToken: csrf.token(for: sessionID))
        }
        guard csrf.verify(csrfToken, for: sessionID) else {
            return errorPage("This form has expired. Start again from the application.", status: .forbidden)
        }
        guard decision == "approve" else {
            return Self.redirect(parsed.error(.init(.accessDenied, "The user denied the request."), issuer: "https://\(forwarded.host)"))
        }
        let code = try await grants.issueCode(.init(
            client: parsed.client, user: user, redirectURI: parsed.redirectURI, scopes: scopes,
            codeChallenge: parsed.codeChallenge, authenticationMethod: principal.authenticationMethod.rawValue
        ), requestID: context.requestID)
        return Self.redirect(parsed.success(code: code, issuer: "https://\(forwarded.host)"))
    }

    private func consentPage(_ request: AuthorizationRequest, scopes: [String], user: User, csrfToken: String) -> Response {
        let hidden: [(String, String?)] = [
            ("response_type", "code"), ("client_id", request.client.id), ("redirect_uri", request.redirectURI),
            ("scope", request.requestedScopes.joined(separator: " ")), ("state", request.state), ("code_challenge", request.codeChallenge),
            ("code_challenge_method", request.codeChallenge == nil ? nil : "S256"),
        ]
        // The answer redirects to the client's own host: the form may not be limited to this one.
        return pages.page("Authorize \(request.client.name)", template: "identity/consent", values: [
            "client": request.client.name, "account": user.email.rawValue, "scopes": scopes.map(Self.describe),
            "host": URLComponents(string: request.redirectURI)?.host ?? "",
            "hidden": hidden.compactMap { name, value in value.map { IdentityPages.Hidden(name: name, value: $0) } },
        ], csrfToken: csrfToken, formTargets: .anyRedirect)
    }

    static func describe(_ scope: String) -> String {
        switch scope {
        case "tickets:read": "Read tickets and conversations"
        case "tickets:write": "Create and reply to tickets"
        case "users:write": "Manage users"
        case "security:write": "Manage security settings, API keys and applications"
        case "audit:read": "Read the audit log"
        default: scope
        }
    }

    private func errorPage(_ message: String, status: HTTPResponse.Status = .badRequest) -> Response {
        pages.message("Authorization failed", error: message, status: status)
    }

    static func redirect(_ location: String) -> Response {
        var response = Response(status: .seeOther)
        response.headers[.location] = location
        response.headers[.cacheControl] = "no-store"
        return response
    }

    static func encode(_ fields: [String: String]) -> String {
        fields.sorted { $0.key < $1.key }.map { name, value in
            "\(name)=\(value.addingPercentEncoding(withAllowedCharacters: .urlQueryValueAllowed) ?? "")"
        }.joined(separator: "&")
    }
}

extension CharacterSet {
    /// Characters left as they are in a query parameter's value.
    static let urlQueryValueAllowed: CharacterSet = {
        var set = CharacterSet.alphanumerics
        set.insert(charactersIn: "-._~")
        return set
    }()
}
