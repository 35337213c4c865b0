import Foundation
import Hummingbird
import RampartCore
import RampartSecurity
import RampartTransport

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
    let region: Region
    let baseDomain: String

    func register(on router: Router<ServiceRequestContext>) {
        router.get("/oauth/authorize") { request, context -> Response in
            try await handle(request, context, fields: FormBody.parseQuery(request), decision: nil)
        }
        router.post("/oauth/authorize") { request, context -> Response in
            guard let form = try? await FormBody.read(request) else {
                return Self.errorPage("The form could not be read. Start again from the application.")
            }
            return try await handle(request, context, fields: form.fields, decision: form["decision"] ?? "", csrfToken: form["csrf_token"])
        }
    }

    private func handle(_ request: Request, _ context: ServiceRequestContext, fields: [String: String], decision: String?, csrfToken: String? = nil) async throws -> Response {
        let forwarded = try ForwardedRequest(request, context: context, region: region, baseDomain: baseDomain)
        guard let tenant = try await tenants.find(slug: forwarded.tenant), tenant.status == .active else {
            return Self.errorPage("This application cannot be authorized here.")
        }
        let parsed: AuthorizationRequest
        switch try await AuthorizationRequest.parse(fields, tenant: tenant.id, clients: clients) {
        case .page(let message): return Self.errorPage(message)
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
        else { return Self.errorPage("Sign in to your account in a browser to authorize applications.", status: .forbidden) }
        let scopes = parsed.requestedScopes.filter { principal.has(scope: $0) }
        guard !scopes.isEmpty else { return Self.redirect(parsed.error(.init(.invalidScope, "None of the requested scopes are available to you."), issuer: "https://\(forwarded.host)")) }

        guard let decision else {
            return consentPage(parsed, scopes: scopes, user: user, csrfToken: csrf.token(for: sessionID))
        }
        guard csrf.verify(csrfToken, for: sessionID) else {
            return Self.errorPage("This form has expired. Start again from the application.", status: .forbidden)
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
        let items = scopes.map { "<li>\(HTMLPage.escape(Self.describe($0)))</li>" }.joined()
        let fields = [
            HTMLPage.hidden("response_type", "code"), HTMLPage.hidden("client_id", request.client.id),
            HTMLPage.hidden("redirect_uri", request.redirectURI), HTMLPage.hidden("scope", request.requestedScopes.joined(separator: " ")),
            HTMLPage.hidden("state", request.state), HTMLPage.hidden("code_challenge", request.codeChallenge),
            HTMLPage.hidden("code_challenge_method", request.codeChallenge == nil ? nil : "S256"), HTMLPage.hidden("csrf_token", csrfToken),
        ].joined()
        let host = URLComponents(string: request.redirectURI)?.host ?? ""
        return HTMLPage(title: "Authorize \(request.client.name)", body: """
            <p><strong>\(HTMLPage.escape(request.client.name))</strong> wants to access your account <strong>\(HTMLPage.escape(user.email.rawValue))</strong>. It will be able to:</p>
            <ul>\(items)</ul>
            <p>You will be sent back to <code>\(HTMLPage.escape(host))</code>. You can revoke this access at any time.</p>
            <form method="post" action="/oauth/authorize">\(fields)
            <button type="submit" name="decision" value="approve">Allow</button>
            <button type="submit" name="decision" value="deny" class="secondary">Deny</button>
            </form>
            """).response()
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

    static func errorPage(_ message: String, status: HTTPResponse.Status = .badRequest) -> Response {
        HTMLPage(title: "Authorization failed", body: HTMLPage.alert(message)).response(status: status)
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
