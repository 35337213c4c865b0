import Foundation
import HTTPTypes
import Hummingbird
import RampartCore
import RampartSecurity
import RampartTransport
import RampartWeb

/// `GET/POST /invitation?token=…`: an invited user chooses a password (the tenant's policy
/// applies, every broken rule explained) and is signed in. The form is bound to a pre-session
/// cookie like the sign-in form, so a third party cannot make a browser accept an invitation.
struct InvitationPages: Sendable {
    let tenants: TenantRepository
    let invitations: InvitationRepository
    let csrf: CSRFToken
    let pages: IdentityPages
    let region: Region
    let baseDomain: String

    func register(on router: Router<ServiceRequestContext>) {
        router.get("/invitation") { request, context -> Response in
            let forwarded = try ForwardedRequest(request, context: context, region: region, baseDomain: baseDomain)
            let token = FormBody.parseQuery(request)["token"] ?? ""
            guard let tenant = try await tenants.find(slug: forwarded.tenant), tenant.status == .active,
                  let user = try await invitations.pending(token, tenant: tenant.id)
            else { return invalid() }
            let (nonce, cookie) = SignInPages.newNonce()
            var response = page(user: user, token: token, nonce: nonce, errors: [])
            response.headers.append(cookie)
            return response
        }
        router.post("/invitation") { request, context -> Response in
            let forwarded = try ForwardedRequest(request, context: context, region: region, baseDomain: baseDomain)
            guard let form = try? await FormBody.read(request), let nonce = SignInPages.verifiedNonce(request, form, csrf: csrf) else { return pages.signInExpired() }
            let token = form["token"] ?? ""
            guard let tenant = try await tenants.find(slug: forwarded.tenant), tenant.status == .active,
                  let user = try await invitations.pending(token, tenant: tenant.id)
            else { return invalid() }
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
                return invalid()
            }
        }
    }

    private func page(user: User, token: String, nonce: String, errors: [String], status: HTTPResponse.Status = .ok) -> Response {
        pages.form("Welcome, \(user.name)", action: "/invitation", csrfToken: csrf.token(for: "login:" + nonce),
                   paragraphs: ["Choose a password for \(user.email.rawValue)."], hidden: [("token", token)], fields: [
                       FormField("password", label: "New password", control: .input(type: "password"),
                                 hint: "Use at least 12 characters. A few unrelated words make a strong, memorable password.",
                                 required: true, autofocus: true, autocomplete: "new-password"),
                       FormField("confirm_password", label: "Repeat the password", control: .input(type: "password"), required: true, autocomplete: "new-password"),
                   ], buttons: [.init("Set password and sign in")], errors: errors, status: status)
    }

    private func invalid() -> Response {
        pages.message("Invitation not valid", error: "This invitation link is not valid any more. Ask your administrator for a new one.", status: .notFound)
    }
}
