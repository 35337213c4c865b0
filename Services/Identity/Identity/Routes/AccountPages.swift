import Foundation
import HTTPTypes
import Hummingbird
import RampartCore
import RampartSecurity
import RampartTransport
import RampartWeb

/// The signed-in user's own pages: `/account/password` (change the password),
/// `/account/two-factor` (add an authenticator app: password again, then secret and QR code,
/// then a first code, then the recovery codes) and `/account/sessions` (where they are signed
/// in, each device signed out on its own or all but this one). Every form carries the session's
/// CSRF token.
struct AccountPages: Sendable {
    let users: UserRepository
    let passwords: PasswordChange
    let twoFactor: TwoFactorRepository
    let sessions: SessionRepository
    let csrf: CSRFToken
    let pages: IdentityPages

    func register(on router: Router<ServiceRequestContext>) {
        router.get("/account/password") { request, context -> Response in
            guard let (_, session, _) = try await signedIn(context) else { return Self.signInFirst(request) }
            let changed = FormBody.parseQuery(request)["changed"] == "1"
            return passwordPage(session: session, errors: [], notice: changed ? "Your password was changed. Other devices were signed out." : nil)
        }
        router.post("/account/password") { request, context -> Response in
            guard let (user, session, principal) = try await signedIn(context) else { return Self.signInFirst(request) }
            guard let form = try? await FormBody.read(request), csrf.verify(form["csrf_token"], for: session) else { return expired() }
            let new = form.fields["new_password"] ?? ""
            guard new == form.fields["confirm_password"] else {
                return passwordPage(session: session, errors: ["The new passwords do not match."], status: .unprocessableContent)
            }
            switch try await passwords.change(user: user, current: form.fields["current_password"] ?? "", new: new,
                                              method: principal.authenticationMethod.rawValue, requestID: context.requestID) {
            case .changed(let token, let expiresAt):
                var response = AuthorizeRoutes.redirect("/account/password?changed=1")
                response.headers[.setCookie] = SignInRoutes.sessionCookie(token: token, expiresAt: expiresAt)
                return response
            case .wrongCurrentPassword:
                return passwordPage(session: session, errors: ["The current password is incorrect."], status: .unprocessableContent)
            case .rejected(let violations):
                return passwordPage(session: session, errors: violations.map(\.message), status: .unprocessableContent)
            case .throttled:
                return passwordPage(session: session, errors: ["Too many attempts. Wait a few minutes and try again."], status: .tooManyRequests)
            }
        }
        router.get("/account/sessions") { request, context -> Response in
            guard let (user, session, _) = try await signedIn(context) else { return Self.signInFirst(request) }
            let done = FormBody.parseQuery(request)["done"]
            return try await sessionsPage(user: user, session: session,
                                          notice: done == "one" ? "That device was signed out." : done == "others" ? "Every other device was signed out." : nil)
        }
        router.post("/account/sessions/{id}/revoke") { request, context -> Response in
            guard let (user, session, principal) = try await signedIn(context) else { return Self.signInFirst(request) }
            guard let form = try? await FormBody.read(request), csrf.verify(form["csrf_token"], for: session) else { return expired() }
            // This device signs out with the sign-out button; another's id (or a gone one) ends nothing.
            guard let id = context.parameters.get("id").flatMap(UUID.init(uuidString:)), id.uuidString.lowercased() != session.lowercased(),
                  try await sessions.revoke(user: user.id, sessionID: id, tenant: user.tenantID, actor: MeRoutes.actor(user, principal),
                                            region: principal.region, requestID: context.requestID) == 1
            else {
                return try await sessionsPage(user: user, session: session, errors: ["That session is not one of your other devices (any more)."],
                                              status: .notFound)
            }
            return AuthorizeRoutes.redirect("/account/sessions?done=one")
        }
        router.post("/account/sessions/revoke-others") { request, context -> Response in
            guard let (user, session, principal) = try await signedIn(context) else { return Self.signInFirst(request) }
            guard let form = try? await FormBody.read(request), csrf.verify(form["csrf_token"], for: session) else { return expired() }
            // Without this session's id, "all others" would be everyone: refuse rather than sign this device out too.
            guard let current = UUID(uuidString: session) else {
                return try await sessionsPage(user: user, session: session, errors: ["This session cannot be told apart from the others; sign out instead."],
                                              status: .conflict)
            }
            try await sessions.revoke(user: user.id, sessionID: nil, keeping: current, tenant: user.tenantID,
                                      actor: MeRoutes.actor(user, principal), region: principal.region, requestID: context.requestID)
            return AuthorizeRoutes.redirect("/account/sessions?done=others")
        }
        router.get("/account/two-factor") { request, context -> Response in
            guard let (user, session, _) = try await signedIn(context) else { return Self.signInFirst(request) }
            if try await twoFactor.isEnabled(user) {
                return pages.message("Two-factor authentication", ["Two-factor authentication is on for your account."])
            }
            return startPage(session: session, error: nil)
        }
        router.post("/account/two-factor") { request, context -> Response in
            guard let (user, session, principal) = try await signedIn(context) else { return Self.signInFirst(request) }
            guard let form = try? await FormBody.read(request), csrf.verify(form["csrf_token"], for: session) else { return expired() }
            switch try await passwords.reauthenticate(user: user, password: form.fields["current_password"] ?? "") {
            case .wrongPassword: return startPage(session: session, error: "The current password is incorrect.", status: .unprocessableContent)
            case .throttled: return startPage(session: session, error: "Too many attempts. Wait a few minutes and try again.", status: .tooManyRequests)
            case .confirmed: break
            }
            do {
                let totp = try await twoFactor.enroll(user)
                let uri = totp.provisioningURI(issuer: "Rampart (\(principal.tenantSlug))", account: user.email.rawValue)
                return enrollPage(session: session, secret: Base32.encode(totp.secret), uri: uri, error: nil)
            } catch TwoFactorRepository.TwoFactorError.alreadyEnabled {
                return pages.message("Two-factor authentication", ["Two-factor authentication is already on."], status: .conflict)
            }
        }
        router.post("/account/two-factor/confirm") { request, context -> Response in
            guard let (user, session, principal) = try await signedIn(context) else { return Self.signInFirst(request) }
            guard let form = try? await FormBody.read(request), csrf.verify(form["csrf_token"], for: session) else { return expired() }
            let code = (form["code"] ?? "").replacingOccurrences(of: " ", with: "")
            do {
                let codes = try await twoFactor.confirm(user, code: code, actor: MeRoutes.actor(user, principal), requestID: context.requestID)
                var response = pages.page("Save your recovery codes", template: "identity/recovery-codes", values: ["codes": codes])
                if let id = UUID(uuidString: session), let (token, expiresAt) = try await sessions.rotate(sessionID: id, user: user, method: "totp", ip: nil) {
                    response.headers[.setCookie] = SignInRoutes.sessionCookie(token: token, expiresAt: expiresAt)
                }
                return response
            } catch TwoFactorRepository.TwoFactorError.wrongCode {
                return pages.message("Two-factor authentication", error: "That code did not work; check the time on your device and start again.",
                                     links: [Link("Start again", "/account/two-factor")], status: .unprocessableContent)
            } catch {
                return pages.message("Two-factor authentication", error: "No enrollment is in progress.",
                                     links: [Link("Start again", "/account/two-factor")], status: .conflict)
            }
        }
    }

    /// The user, session id and principal behind a session principal; `nil` for anyone else.
    private func signedIn(_ context: ServiceRequestContext) async throws -> (User, String, Principal)? {
        guard let principal = context.principal, let session = principal.sessionID,
              let user = try await MeRoutes.user(of: principal, users: users), user.status == .active
        else { return nil }
        return (user, session, principal)
    }

    /// One session as a row of the sessions page.
    struct SessionRow {
        let device: String
        let ip: String
        let signedIn: String
        let lastActive: String
        let method: String
        let isCurrent: Bool
        let action: String
    }

    private func sessionsPage(user: User, session: String, notice: String? = nil, errors: [String] = [],
                              status: HTTPResponse.Status = .ok) async throws -> Response {
        let listed = try await sessions.list(user: user.id, tenant: user.tenantID)
        let rows = listed.map { item in
            SessionRow(device: item.userAgent.map { String($0.prefix(160)) } ?? "Unknown device", ip: item.ip ?? "—",
                       signedIn: item.createdAt.formatted(.iso8601), lastActive: item.lastSeenAt.formatted(.iso8601),
                       method: item.authenticationMethod, isCurrent: item.id.uuidString.lowercased() == session.lowercased(),
                       action: "/account/sessions/\(item.id.uuidString.lowercased())/revoke")
        }
        var page = WebPage(title: "Where you are signed in", template: "identity/sessions", values: [
            "rows": rows, "hasOthers": rows.contains { !$0.isCurrent },
            "back": user.role.isStaff ? Link("Back to the agent console", "/agent/me") : Link("Back to your requests", "/portal"),
        ])
        page.width = .wide
        page.csrfToken = csrf.token(for: session)
        page.flashes = IdentityPages.flashes(errors: errors, notice: notice)
        return pages.templates.response(page, status: status)
    }

    private func passwordPage(session: String, errors: [String], notice: String? = nil, status: HTTPResponse.Status = .ok) -> Response {
        pages.form("Change your password", action: "/account/password", csrfToken: csrf.token(for: session), fields: [
            FormField("current_password", label: "Current password", control: .input(type: "password"), required: true, autocomplete: "current-password"),
            FormField("new_password", label: "New password", control: .input(type: "password"),
                      hint: "Use at least 12 characters. A few unrelated words make a strong, memorable password.", required: true, autocomplete: "new-password"),
            FormField("confirm_password", label: "Repeat the new password", control: .input(type: "password"), required: true, autocomplete: "new-password"),
        ], buttons: [.init("Change password")], errors: errors, notice: notice, status: status)
    }

    private func startPage(session: String, error: String?, status: HTTPResponse.Status = .ok) -> Response {
        pages.form("Add an authenticator app", action: "/account/two-factor", csrfToken: csrf.token(for: session),
                   paragraphs: ["Confirm your password to set up two-factor authentication."], fields: [
                       FormField("current_password", label: "Current password", control: .input(type: "password"), required: true, autofocus: true,
                                 autocomplete: "current-password"),
                   ], buttons: [.init("Continue")], errors: error.map { [$0] } ?? [], status: status)
    }

    private func enrollPage(session: String, secret: String, uri: String, error: String?) -> Response {
        pages.page("Scan the code", template: "identity/enroll", values: [
            "qrCode": Self.qrCode(uri), "secret": secret, "uri": uri,
            "fields": [FormField("code", label: "Code shown in the app", required: true, autofocus: true, autocomplete: "one-time-code", inputMode: "numeric")],
        ], csrfToken: csrf.token(for: session), errors: error.map { [$0] } ?? [])
    }

    /// The enrollment URI as a QR code: an SVG image in a `data:` URL (the page CSP allows
    /// `img-src data:`), so no markup is written into the page unescaped.
    static func qrCode(_ uri: String) -> String {
        let svg = (try? QRCode(text: uri, correction: .medium))?.svg(label: "QR code to add this account to an authenticator app") ?? ""
        return "data:image/svg+xml;base64," + Data(svg.utf8).base64EncodedString()
    }

    static func signInFirst(_ request: Request) -> Response {
        AuthorizeRoutes.redirect("/login?return_to=" + (request.uri.path.addingPercentEncoding(withAllowedCharacters: .urlQueryValueAllowed) ?? "/"))
    }

    private func expired() -> Response {
        pages.message("Form expired", error: "This form has expired. Reload the page and try again.", status: .forbidden)
    }
}
