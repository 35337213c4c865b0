import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import RampartCore
import RampartSecurity
import RampartTransport
import RampartWeb

/// The server-rendered sign-in at a tenant's host: `GET/POST /login` (email and password) and
/// `POST /login/totp` (the second factor). Forms carry an anti-CSRF token bound to a short-lived
/// pre-session cookie (double submit, signed), so a third-party page cannot sign a victim into
/// an attacker's account. Success sends the browser to `return_to`, a local path only.
struct SignInPages: Sendable {
    let tenants: TenantRepository
    let signIn: PasswordSignIn
    let csrf: CSRFToken
    let pages: IdentityPages
    let region: Region
    let baseDomain: String

    static let nonceCookie = "__Host-rampart_login"

    func register(on router: Router<ServiceRequestContext>) {
        router.get("/login") { request, context -> Response in
            let forwarded = try ForwardedRequest(request, context: context, region: region, baseDomain: baseDomain)
            let returnTo = Self.safeReturn(FormBody.parseQuery(request)["return_to"])
            let (nonce, cookie) = Self.newNonce()
            var response = loginPage(tenant: forwarded.tenant, returnTo: returnTo, email: nil, nonce: nonce, error: nil)
            response.headers.append(cookie)
            return response
        }
        router.post("/login") { request, context -> Response in
            let forwarded = try ForwardedRequest(request, context: context, region: region, baseDomain: baseDomain)
            guard let form = try? await FormBody.read(request), let nonce = Self.verifiedNonce(request, form, csrf: csrf) else { return pages.signInExpired() }
            let returnTo = Self.safeReturn(form["return_to"])
            let email = form["email"] ?? ""
            let password = form.fields["password"] ?? ""
            guard email.utf8.count <= 320, password.utf8.count <= PasswordHasher.maximumInputBytes else {
                return loginPage(tenant: forwarded.tenant, returnTo: returnTo, email: nil, nonce: nonce, error: Self.refusedMessage, status: .unauthorized)
            }
            let origin = PasswordSignIn.Origin(ip: forwarded.clientIP, userAgent: request.headers[.userAgent], requestID: context.requestID)
            let outcome: PasswordSignIn.Outcome
            if let tenant = try await tenants.find(slug: forwarded.tenant), tenant.status == .active {
                outcome = try await signIn.signIn(tenant: tenant, email: email, password: password, origin: origin)
            } else {
                outcome = try await signIn.refuseWithoutTenant(password: password)
            }
            return respond(outcome, tenant: forwarded.tenant, returnTo: returnTo, email: email, nonce: nonce)
        }
        router.post("/login/totp") { request, context -> Response in
            let forwarded = try ForwardedRequest(request, context: context, region: region, baseDomain: baseDomain)
            guard let form = try? await FormBody.read(request), let nonce = Self.verifiedNonce(request, form, csrf: csrf) else { return pages.signInExpired() }
            let returnTo = Self.safeReturn(form["return_to"])
            let challenge = form["challenge"] ?? ""
            let code = (form["code"] ?? "").replacingOccurrences(of: " ", with: "")
            guard code.utf8.count <= 32, let tenant = try await tenants.find(slug: forwarded.tenant), tenant.status == .active else {
                return loginPage(tenant: forwarded.tenant, returnTo: returnTo, email: nil, nonce: nonce, error: Self.refusedMessage, status: .unauthorized)
            }
            let origin = PasswordSignIn.Origin(ip: forwarded.clientIP, userAgent: request.headers[.userAgent], requestID: context.requestID)
            let outcome = try await signIn.completeSecondFactor(tenant: tenant, challenge: challenge, code: code, origin: origin)
            if case .refused = outcome {
                // A wrong code keeps the challenge (it has its own attempt limit); an expired one starts over.
                return totpPage(tenant: forwarded.tenant, challenge: challenge, returnTo: returnTo, nonce: nonce,
                                error: "That code did not work. Enter the current code from your app, or a recovery code.", status: .unauthorized)
            }
            return respond(outcome, tenant: forwarded.tenant, returnTo: returnTo, email: nil, nonce: nonce)
        }
    }

    static let refusedMessage = "The email address or password is incorrect."

    private func respond(_ outcome: PasswordSignIn.Outcome, tenant: TenantSlug, returnTo: String, email: String?, nonce: String) -> Response {
        switch outcome {
        case .signedIn(_, let token, _, let expiresAt):
            var response = AuthorizeRoutes.redirect(returnTo)
            response.headers.append(HTTPField(name: .setCookie, value: "\(Self.nonceCookie)=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0"))
            response.headers.append(HTTPField(name: .setCookie, value: SignInRoutes.sessionCookie(token: token, expiresAt: expiresAt)))
            return response
        case .secondFactorRequired(let challenge, _):
            return totpPage(tenant: tenant, challenge: challenge, returnTo: returnTo, nonce: nonce, error: nil)
        case .refused:
            return loginPage(tenant: tenant, returnTo: returnTo, email: email, nonce: nonce, error: Self.refusedMessage, status: .unauthorized)
        case .throttled(let wait):
            var response = loginPage(tenant: tenant, returnTo: returnTo, email: email, nonce: nonce,
                                     error: "Too many attempts. Wait a few minutes and try again.", status: .tooManyRequests)
            response.headers[.retryAfter] = String(max(1, wait.components.seconds))
            return response
        }
    }

    /// The nonce of the pre-session cookie when the form's token matches it.
    static func verifiedNonce(_ request: Request, _ form: FormBody, csrf: CSRFToken) -> String? {
        guard let nonce = request.cookies[nonceCookie]?.value, (20...100).contains(nonce.utf8.count),
              csrf.verify(form["csrf_token"], for: "login:" + nonce)
        else { return nil }
        return nonce
    }

    /// A fresh pre-session nonce and the cookie that carries it.
    static func newNonce() -> (nonce: String, cookie: HTTPField) {
        let nonce = SessionRepository.newToken()
        return (nonce, HTTPField(name: .setCookie, value: "\(nonceCookie)=\(nonce); Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=900"))
    }

    private func loginPage(tenant: TenantSlug, returnTo: String, email: String?, nonce: String, error: String?, status: HTTPResponse.Status = .ok) -> Response {
        pages.form("Sign in to \(tenant.rawValue)", action: "/login", csrfToken: csrf.token(for: "login:" + nonce), hidden: [("return_to", returnTo)], fields: [
            FormField("email", label: "Email address", control: .input(type: "email"), value: email, required: true, autofocus: error == nil, autocomplete: "username"),
            FormField("password", label: "Password", control: .input(type: "password"), required: true, autofocus: error != nil, autocomplete: "current-password"),
        ], buttons: [.init("Sign in")], errors: error.map { [$0] } ?? [], status: status)
    }

    private func totpPage(tenant: TenantSlug, challenge: String, returnTo: String, nonce: String, error: String?, status: HTTPResponse.Status = .ok) -> Response {
        pages.form("Two-factor authentication", action: "/login/totp", csrfToken: csrf.token(for: "login:" + nonce),
                   paragraphs: ["Enter the six-digit code from your authenticator app, or one of your recovery codes."],
                   hidden: [("return_to", returnTo), ("challenge", challenge)], fields: [
                       FormField("code", label: "Authentication code", required: true, autofocus: true, autocomplete: "one-time-code", inputMode: "numeric"),
                   ], buttons: [.init("Verify")], errors: error.map { [$0] } ?? [], status: status)
    }

    /// A local path to return to after sign-in; anything else (other hosts, `//`, schemes,
    /// backslashes, control characters) becomes `/`.
    static func safeReturn(_ candidate: String?) -> String {
        LocalPath.safe(candidate)
    }
}
