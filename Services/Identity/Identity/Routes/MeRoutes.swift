import Foundation
import Hummingbird
import RampartCore
import RampartSecurity
import RampartTransport
import RampartWeb

/// `GET /api/v1/me`: the caller as the platform sees them; `POST /api/v1/me/password`: change
/// one's own password (current password, tenant policy, history), which ends every session and
/// starts a fresh one.
struct MeRoutes: Sendable {
    let users: UserRepository
    let passwords: PasswordChange
    let sessions: SessionRepository
    let region: Region
    let csrf: CSRFToken
    /// Ends the provider's session too when the signed-out session came from OpenID Connect.
    let oidc: OIDCSignIn
    /// For the sign-out form's answer.
    let pages: IdentityPages
    let baseDomain: String

    struct Me: ResponseEncodable {
        struct TenantRef: Codable {
            var id: TenantID
            var slug: TenantSlug
        }

        struct UserRef: Codable {
            var id: UUID
            var email: EmailAddress
            var name: String
            var role: Role
        }

        var tenant: TenantRef
        var region: Region
        var subject: String
        var kind: Principal.Kind
        var roles: [String]
        var scopes: [String]
        var authenticationMethod: Principal.AuthenticationMethod
        var sessionID: String?
        var clientID: String?
        var user: UserRef?
        /// The tenant requires a second factor and this session has none: enroll one to continue.
        var secondFactorEnrollmentRequired: Bool
        /// For sessions: the token to send as `X-CSRF-Token` with every state change.
        var csrfToken: String?


        enum CodingKeys: String, CodingKey {
            case tenant, region, subject, kind, roles, scopes, user
            case authenticationMethod = "authentication_method"
            case sessionID = "session_id"
            case clientID = "client_id"
            case secondFactorEnrollmentRequired = "second_factor_enrollment_required"
            case csrfToken = "csrf_token"
        }
    }

    struct ChangePassword: Decodable {
        var currentPassword: String
        var newPassword: String

        enum CodingKeys: String, CodingKey {
            case currentPassword = "current_password"
            case newPassword = "new_password"
        }
    }

    func register(on router: Router<ServiceRequestContext>) {
        router.group("/api/v1/me", context: AuthenticatedContext.self).get { _, context -> Me in
            let principal = context.principal
            let user = try await MeRoutes.user(of: principal, users: users)
            return Me(
                tenant: .init(id: principal.tenantID, slug: principal.tenantSlug), region: principal.region,
                subject: principal.subject, kind: principal.kind, roles: principal.roles, scopes: principal.scopes,
                authenticationMethod: principal.authenticationMethod, sessionID: principal.sessionID, clientID: principal.clientID,
                user: user.map { .init(id: $0.id, email: $0.email, name: $0.name, role: $0.role) },
                secondFactorEnrollmentRequired: try await MeRoutes.secondFactorPending(principal, user: user, users: users),
                csrfToken: principal.sessionID.map(csrf.token(for:))
            )
        }
        let own = router.group("/api/v1/me/sessions", context: AuthenticatedContext.self)
        own.get { _, context -> DataList<SessionRepository.Listed> in
            let user = try await MeRoutes.sessionUser(context, users: users)
            return DataList(data: try await sessions.list(user: user.id, tenant: user.tenantID))
        }
        own.delete("{id}") { _, context -> Response in
            let user = try await MeRoutes.sessionUser(context, users: users)
            guard let raw = context.parameters.get("id"), let id = UUID(uuidString: raw),
                  try await sessions.revoke(user: user.id, sessionID: id, tenant: user.tenantID, actor: MeRoutes.actor(user, context.principal), region: region, requestID: context.requestID) == 1
            else { throw ProblemError(status: .notFound, code: "session_not_found", title: "Session not found") }
            return Response(status: .noContent)
        }
        // Sign-out: ends the session the request came with; the gateway clears the cookie.
        router.group("/auth/logout", context: AuthenticatedContext.self).post { _, context -> Response in
            let endSession = try await signOut(context.principal, requestID: context.requestID)
            var response = endSession.map { url in
                Response(status: .ok, body: .init(byteBuffer: ByteBuffer(data: (try? JSONSerialization.data(withJSONObject: ["end_session_url": url])) ?? Data())))
            } ?? Response(status: .noContent)
            if endSession != nil { response.headers[.contentType] = "application/json" }
            response.headers[.setCookie] = Self.clearedSessionCookie
            return response
        }
        // The same as a form (the sign-out button of every page's header bar), with the session's
        // CSRF token in a field: back to sign-in, or a page linking to the provider's own sign-out
        // (a form's redirect may not leave the site under the pages' CSP `form-action 'self'`).
        router.post("/logout") { request, context -> Response in
            guard let principal = context.principal, principal.sessionID != nil else { return AuthorizeRoutes.redirect("/login") }
            guard let form = try? await FormBody.read(request), FormCSRF.accepts(form, from: principal) else {
                return pages.message("Sign out", error: "This form has expired. Reload the page and try again.", links: [Link("Back", "/")], status: .forbidden)
            }
            let endSession = try await signOut(principal, requestID: context.requestID)
            var response = endSession.map { url in
                pages.message("Signed out", ["You are signed out of Rampart. Your identity provider may still keep you signed in there."],
                              links: [Link("Sign out at your identity provider too", url), Link("Sign in again", "/login")])
            } ?? AuthorizeRoutes.redirect("/login")
            response.headers[.setCookie] = Self.clearedSessionCookie
            return response
        }
        router.group("/api/v1/me/password", context: AuthenticatedContext.self).post { request, context -> Response in
            let user = try await MeRoutes.sessionUser(context, users: users)
            let body = try await IdentityRequest.decode(ChangePassword.self, from: request, context: context)
            switch try await passwords.change(user: user, current: body.currentPassword, new: body.newPassword,
                                              method: context.principal.authenticationMethod.rawValue, requestID: context.requestID) {
            case .wrongCurrentPassword:
                throw ProblemError(status: .unprocessableContent, code: "invalid_input", title: "Invalid input",
                                   fieldErrors: [.init(field: "current_password", message: "The current password is incorrect.")])
            case .throttled(let wait):
                throw ProblemError(status: .tooManyRequests, code: "too_many_attempts", title: "Too many attempts",
                                   headers: [.retryAfter: String(max(1, wait.components.seconds))])
            case .rejected(let violations):
                throw IdentityError.weakPassword(violations).problem
            case .changed(let token, let expiresAt):
                var response = Response(status: .noContent)
                response.headers[.setCookie] = SignInRoutes.sessionCookie(token: token, expiresAt: expiresAt)
                response.headers[.cacheControl] = "no-store"
                return response
            }
        }
    }

    /// Whether a session principal stands for a user whose tenant requires a second factor the session lacks.
    static func secondFactorPending(_ principal: Principal, user: User?, users: UserRepository) async throws -> Bool {
        guard let user, principal.sessionID != nil, principal.authenticationMethod == .password else { return false }
        return try await users.database.withTenant(user.tenantID) { connection in
            try await SecuritySettings.load(tenant: user.tenantID, on: connection, logger: users.database.logger).requiresSecondFactor(user.role)
        }
    }

    /// The signed-in user behind a session principal (API keys and tokens cannot manage sessions).
    /// Ends the session `principal` came with (audited) and returns the OpenID Connect
    /// provider's end-session URL when the session came from a provider configured for logout.
    private func signOut(_ principal: Principal, requestID: String) async throws -> String? {
        guard [.password, .totp, .sso].contains(principal.authenticationMethod), let raw = principal.sessionID, let id = UUID(uuidString: raw),
              let user = try await Self.user(of: principal, users: users), user.status == .active
        else { throw ProblemError(status: .forbidden, code: "session_required", title: "Not signed in with a session") }
        try await sessions.revoke(user: user.id, sessionID: id, tenant: user.tenantID, actor: Self.actor(user, principal), region: region, requestID: requestID)
        return try await oidc.endSessionURL(sessionID: id, tenant: user.tenantID, host: "\(principal.tenantSlug).\(region).\(baseDomain)")
    }

    /// Clears the session cookie in the browser.
    static let clearedSessionCookie = "\(SessionRepository.cookieName)=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0"

    static func sessionUser(_ context: AuthenticatedContext, users: UserRepository) async throws -> User {
        guard let id = context.principal.sessionUserID, let user = try await users.find(id: id, tenant: context.principal.tenantID),
              user.status == .active
        else { throw ProblemError(status: .forbidden, code: "session_required", title: "Sign in to manage your sessions") }
        return user
    }

    static func actor(_ user: User, _ principal: Principal) -> AuditEvent.Actor {
        AuditEvent.Actor(type: user.role.actorType, id: user.id.uuidString.lowercased(),
                         displayName: user.email.rawValue, authenticationMethod: principal.authenticationMethod.rawValue)
    }

    /// The user a principal acts for: the signed-in user, or the owner of an API key.
    static func user(of principal: Principal, users: UserRepository) async throws -> User? {
        guard let id = principal.userID else { return nil }
        return try await users.find(id: id, tenant: principal.tenantID)
    }
}
