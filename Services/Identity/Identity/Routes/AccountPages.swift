import Foundation
import HTTPTypes
import Hummingbird
import RampartCore
import RampartSecurity
import RampartTransport

/// The signed-in user's own pages: `/account/password` (change the password) and
/// `/account/two-factor` (add an authenticator app: password again, then secret and QR code,
/// then a first code, then the recovery codes). Every form carries the session's CSRF token.
struct AccountPages: Sendable {
    let users: UserRepository
    let passwords: PasswordChange
    let twoFactor: TwoFactorRepository
    let sessions: SessionRepository
    let csrf: CSRFToken

    func register(on router: Router<ServiceRequestContext>) {
        router.get("/account/password") { request, context -> Response in
            guard let (_, session, _) = try await signedIn(context) else { return Self.signInFirst(request) }
            let changed = FormBody.parseQuery(request)["changed"] == "1"
            return passwordPage(session: session, errors: [], notice: changed ? "Your password was changed. Other devices were signed out." : nil)
        }
        router.post("/account/password") { request, context -> Response in
            guard let (user, session, principal) = try await signedIn(context) else { return Self.signInFirst(request) }
            guard let form = try? await FormBody.read(request), csrf.verify(form["csrf_token"], for: session) else { return Self.expired() }
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
        router.get("/account/two-factor") { request, context -> Response in
            guard let (user, session, _) = try await signedIn(context) else { return Self.signInFirst(request) }
            if try await twoFactor.isEnabled(user) {
                return HTMLPage(title: "Two-factor authentication", body: "<p>Two-factor authentication is on for your account.</p>").response()
            }
            return startPage(session: session, error: nil)
        }
        router.post("/account/two-factor") { request, context -> Response in
            guard let (user, session, principal) = try await signedIn(context) else { return Self.signInFirst(request) }
            guard let form = try? await FormBody.read(request), csrf.verify(form["csrf_token"], for: session) else { return Self.expired() }
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
                return HTMLPage(title: "Two-factor authentication", body: "<p>Two-factor authentication is already on.</p>").response(status: .conflict)
            }
        }
        router.post("/account/two-factor/confirm") { request, context -> Response in
            guard let (user, session, principal) = try await signedIn(context) else { return Self.signInFirst(request) }
            guard let form = try? await FormBody.read(request), csrf.verify(form["csrf_token"], for: session) else { return Self.expired() }
            let code = (form["code"] ?? "").replacingOccurrences(of: " ", with: "")
            do {
                let codes = try await twoFactor.confirm(user, code: code, actor: MeRoutes.actor(user, principal), requestID: context.requestID)
                let list = codes.map { "<li><code>\(HTMLPage.escape($0))</code></li>" }.joined()
                var response = HTMLPage(title: "Save your recovery codes", body: """
                    <p>Two-factor authentication is on. Each of these codes signs you in once if you lose your device. Store them somewhere safe: they are not shown again.</p>
                    <ul>\(list)</ul>
                    <p><a href="/">Continue</a></p>
                    """).response()
                if let id = UUID(uuidString: session), let (token, expiresAt) = try await sessions.rotate(sessionID: id, user: user, method: "totp", ip: nil) {
                    response.headers[.setCookie] = SignInRoutes.sessionCookie(token: token, expiresAt: expiresAt)
                }
                return response
            } catch TwoFactorRepository.TwoFactorError.wrongCode {
                return HTMLPage(title: "Two-factor authentication", body: HTMLPage.alert("That code did not work; check the time on your device and start again.")
                    + #"<p><a href="/account/two-factor">Start again</a></p>"#).response(status: .unprocessableContent)
            } catch {
                return HTMLPage(title: "Two-factor authentication", body: HTMLPage.alert("No enrollment is in progress.")
                    + #"<p><a href="/account/two-factor">Start again</a></p>"#).response(status: .conflict)
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

    private func passwordPage(session: String, errors: [String], notice: String? = nil, status: HTTPResponse.Status = .ok) -> Response {
        let list = errors.isEmpty ? "" : #"<div class="error" role="alert"><ul>"# + errors.map { "<li>\(HTMLPage.escape($0))</li>" }.joined() + "</ul></div>"
        return HTMLPage(title: "Change your password", body: """
            \(notice.map { "<p role=\"status\">\(HTMLPage.escape($0))</p>" } ?? "")\(list)
            <form method="post" action="/account/password">\(HTMLPage.hidden("csrf_token", csrf.token(for: session)))
            <label for="current_password">Current password</label>
            <input type="password" id="current_password" name="current_password" autocomplete="current-password" required>
            <label for="new_password">New password</label>
            <input type="password" id="new_password" name="new_password" autocomplete="new-password" required aria-describedby="rules">
            <p id="rules">Use at least 12 characters. A few unrelated words make a strong, memorable password.</p>
            <label for="confirm_password">Repeat the new password</label>
            <input type="password" id="confirm_password" name="confirm_password" autocomplete="new-password" required>
            <button type="submit">Change password</button>
            </form>
            """).response(status: status)
    }

    private func startPage(session: String, error: String?, status: HTTPResponse.Status = .ok) -> Response {
        HTMLPage(title: "Add an authenticator app", body: """
            \(HTMLPage.alert(error))
            <p>Confirm your password to set up two-factor authentication.</p>
            <form method="post" action="/account/two-factor">\(HTMLPage.hidden("csrf_token", csrf.token(for: session)))
            <label for="current_password">Current password</label>
            <input type="password" id="current_password" name="current_password" autocomplete="current-password" required autofocus>
            <button type="submit">Continue</button>
            </form>
            """).response(status: status)
    }

    private func enrollPage(session: String, secret: String, uri: String, error: String?) -> Response {
        var response = HTMLPage(title: "Scan the code", body: """
            \(HTMLPage.alert(error))
            <p>Scan this code with your authenticator app, or enter the key by hand.</p>
            \(Self.qrCode(uri))
            <p>Key: <code>\(HTMLPage.escape(secret))</code></p>
            <p><a href="\(HTMLPage.escape(uri))">Open in an authenticator app on this device</a></p>
            <form method="post" action="/account/two-factor/confirm">\(HTMLPage.hidden("csrf_token", csrf.token(for: session)))
            <label for="code">Code shown in the app</label>
            <input type="text" id="code" name="code" inputmode="numeric" autocomplete="one-time-code" required autofocus>
            <button type="submit">Turn on</button>
            </form>
            """).response()
        response.headers[.cacheControl] = "no-store"
        return response
    }

    /// The enrollment URI as an inline SVG QR code (markup, so the page's CSP needs no image source).
    static func qrCode(_ uri: String) -> String {
        (try? QRCode(text: uri, correction: .medium))?.svg(label: "QR code to add this account to an authenticator app") ?? ""
    }

    static func signInFirst(_ request: Request) -> Response {
        AuthorizeRoutes.redirect("/login?return_to=" + (request.uri.path.addingPercentEncoding(withAllowedCharacters: .urlQueryValueAllowed) ?? "/"))
    }

    static func expired() -> Response {
        HTMLPage(title: "Form expired", body: HTMLPage.alert("This form has expired. Reload the page and try again.")).response(status: .forbidden)
    }
}
