import Foundation
import HTTPTypes
import Hummingbird
import RampartCore
import RampartSecurity
import RampartTransport

/// `GET/POST /invitation?token=…`: an invited user chooses a password (the tenant's policy
/// applies, every broken rule explained) and is signed in. The form is bound to a pre-session
/// cookie like the sign-in form, so a third party cannot make a browser accept an invitation.
struct InvitationPages: Sendable {
    let tenants: TenantRepository
    let invitations: InvitationRepository
    let csrf: CSRFToken
    let region: Region
    let baseDomain: String

    func register(on router: Router<ServiceRequestContext>) {
        router.get("/invitation") { request, context -> Response in
            let forwarded = try ForwardedRequest(request, context: context, region: region, baseDomain: baseDomain)
            let token = FormBody.parseQuery(request)["token"] ?? ""
            guard let tenant = try await tenants.find(slug: forwarded.tenant), tenant.status == .active,
                  let user = try await invitations.pending(token, tenant: tenant.id)
            else { return Self.invalid() }
            let (nonce, cookie) = SignInPages.newNonce()
            var response = page(user: user, token: token, nonce: nonce, errors: [])
            response.headers.append(cookie)
            return response
        }
        router.post("/invitation") { request, context -> Response in
            let forwarded = try ForwardedRequest(request, context: context, region: region, baseDomain: baseDomain)
            guard let form = try? await FormBody.read(request), let nonce = SignInPages.verifiedNonce(request, form, csrf: csrf) else { return SignInPages.expired() }
            let token = form["token"] ?? ""
            guard let tenant = try await tenants.find(slug: forwarded.tenant), tenant.status == .active,
                  let user = try await invitations.pending(token, tenant: tenant.id)
            else { return Self.invalid() }
            let password = form.fields["password"] ?? ""
            guard password == form.fields["confirm_password"] else {
                return page(user: user, token: token, nonce: nonce, errors: ["The passwords do not match."], status: .unprocessableContent)
            }
            guard password.utf8.count <= PasswordHasher.maximumInputBytes else {
                return page(user: user, token: token, nonce: nonce, errors: ["Use at most \(PasswordHasher.maximumInputBytes) bytes."], status: .unprocessableContent)
            }
            switch try await invitations.accept(token, password: password, tenant: tenant.id, ip: forwarded.clientIP,
                                                userAgent: request.headers[.userAgent], requestID: context.requestID) {
            case .success(let (_, session, expiresAt)):
                var response = AuthorizeRoutes.redirect("/")
                response.headers.append(HTTPField(name: .setCookie, value: SignInRoutes.sessionCookie(token: session, expiresAt: expiresAt)))
                return response
            case .failure(.weakPassword(let violations)):
                return page(user: user, token: token, nonce: nonce, errors: violations.map(\.message), status: .unprocessableContent)
            case .failure(.invalidInvitation):
                return Self.invalid()
            }
        }
    }

    private func page(user: User, token: String, nonce: String, errors: [String], status: HTTPResponse.Status = .ok) -> Response {
        let list = errors.isEmpty ? "" : #"<div class="error" role="alert"><ul>"# + errors.map { "<li>\(HTMLPage.escape($0))</li>" }.joined() + "</ul></div>"
        return HTMLPage(title: "Welcome, \(user.name)", body: """
            \(list)<p>Choose a password for <strong>\(HTMLPage.escape(user.email.rawValue))</strong>.</p>
            <form method="post" action="/invitation">\(HTMLPage.hidden("csrf_token", csrf.token(for: "login:" + nonce)))\(HTMLPage.hidden("token", token))
            <label for="password">New password</label>
            <input type="password" id="password" name="password" autocomplete="new-password" required autofocus aria-describedby="rules">
            <p id="rules">Use at least 12 characters. A few unrelated words make a strong, memorable password.</p>
            <label for="confirm_password">Repeat the password</label>
            <input type="password" id="confirm_password" name="confirm_password" autocomplete="new-password" required>
            <button type="submit">Set password and sign in</button>
            </form>
            """).response(status: status)
    }

    static func invalid() -> Response {
        HTMLPage(title: "Invitation not valid", body: HTMLPage.alert("This invitation link is not valid any more. Ask your administrator for a new one.")).response(status: .notFound)
    }
}
