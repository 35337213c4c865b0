import Foundation
import Hummingbird
import RampartCore
import RampartSecurity
import RampartTransport

/// A signed-in user's own TOTP: `POST /api/v1/me/totp` `{current_password}` starts enrollment
/// (secret and `otpauth://` URI, shown once), `POST /api/v1/me/totp/confirm` `{code}` confirms it
/// with a first code and returns the ten recovery codes, also shown once; `DELETE
/// /api/v1/me/totp` `{current_password, code}` removes it. Only session principals may do this,
/// and a stolen session alone is not enough: the password is asked again.
struct TwoFactorRoutes: Sendable {
    let users: UserRepository
    let twoFactor: TwoFactorRepository
    let passwords: PasswordChange
    let sessions: SessionRepository

    struct Reauthenticate: Decodable {
        var currentPassword: String
        var code: String?

        enum CodingKeys: String, CodingKey {
            case currentPassword = "current_password"
            case code
        }
    }

    struct Enrollment: ResponseEncodable {
        var secret: String
        var uri: String
        /// The URI as an SVG QR code, for clients that show it.
        var qrSVG: String

        enum CodingKeys: String, CodingKey {
            case secret, uri
            case qrSVG = "qr_svg"
        }
    }

    struct Confirm: Decodable {
        var code: String
    }

    struct RecoveryCodes: ResponseEncodable {
        var recoveryCodes: [String]

        enum CodingKeys: String, CodingKey {
            case recoveryCodes = "recovery_codes"
        }
    }

    func register(on router: Router<ServiceRequestContext>) {
        let group = router.group("/api/v1/me/totp", context: AuthenticatedContext.self)
        group.post { request, context -> EditedResponse<Enrollment> in
            let user = try await sessionUser(context)
            let body = try await IdentityRequest.decode(Reauthenticate.self, from: request, context: context)
            try await reauthenticate(user, body.currentPassword)
            do {
                let totp = try await twoFactor.enroll(user)
                let uri = totp.provisioningURI(issuer: "Rampart (\(context.principal.tenantSlug))", account: user.email.rawValue)
                return EditedResponse(status: .ok, headers: IdentityRequest.secretHeaders,
                                      response: Enrollment(secret: Base32.encode(totp.secret), uri: uri, qrSVG: AccountPages.qrCode(uri)))
            } catch TwoFactorRepository.TwoFactorError.alreadyEnabled {
                throw ProblemError(status: .conflict, code: "totp_already_enabled", title: "TOTP already enabled")
            }
        }
        group.delete { request, context -> Response in
            let user = try await sessionUser(context)
            let body = try await IdentityRequest.decode(Reauthenticate.self, from: request, context: context)
            try await reauthenticate(user, body.currentPassword)
            guard let code = body.code, try await twoFactor.verify(user, code: code) != nil else {
                throw ProblemError(status: .unprocessableContent, code: "invalid_input", title: "Invalid input",
                                   fieldErrors: [.init(field: "code", message: "Enter a current code or a recovery code.")])
            }
            try await twoFactor.disable(user, actor: MeRoutes.actor(user, context.principal), requestID: context.requestID)
            return Response(status: .noContent)
        }
        group.post("confirm") { request, context -> EditedResponse<RecoveryCodes> in
            let user = try await sessionUser(context)
            let body = try await IdentityRequest.decode(Confirm.self, from: request, context: context)
            let actor = MeRoutes.actor(user, context.principal)
            do {
                let codes = try await twoFactor.confirm(user, code: body.code, actor: actor, requestID: context.requestID)
                // A privilege change: the session now counts as two-factor, under a new id and token.
                var headers = IdentityRequest.secretHeaders
                if let raw = context.principal.sessionID, let id = UUID(uuidString: raw),
                   let (token, expiresAt) = try await sessions.rotate(sessionID: id, user: user, method: "totp", ip: nil) {
                    headers[.setCookie] = SignInRoutes.sessionCookie(token: token, expiresAt: expiresAt)
                }
                return EditedResponse(status: .ok, headers: headers, response: RecoveryCodes(recoveryCodes: codes))
            } catch TwoFactorRepository.TwoFactorError.wrongCode {
                throw ProblemError(status: .unprocessableContent, code: "invalid_input", title: "Invalid input", fieldErrors: [.init(field: "code", message: "The code is not valid; check the time on your device.")])
            } catch TwoFactorRepository.TwoFactorError.notEnrolling {
                throw ProblemError(status: .conflict, code: "totp_not_enrolling", title: "No enrollment in progress")
            } catch TwoFactorRepository.TwoFactorError.alreadyEnabled {
                throw ProblemError(status: .conflict, code: "totp_already_enabled", title: "TOTP already enabled")
            }
        }
    }

    private func reauthenticate(_ user: User, _ password: String) async throws {
        switch try await passwords.reauthenticate(user: user, password: password) {
        case .confirmed:
            return
        case .wrongPassword:
            throw ProblemError(status: .unprocessableContent, code: "invalid_input", title: "Invalid input",
                               fieldErrors: [.init(field: "current_password", message: "The current password is incorrect.")])
        case .throttled(let wait):
            throw ProblemError(status: .tooManyRequests, code: "too_many_attempts", title: "Too many attempts",
                               headers: [.retryAfter: String(max(1, wait.components.seconds))])
        }
    }

    /// The user behind a session principal; API keys and OAuth tokens cannot enroll factors.
    private func sessionUser(_ context: AuthenticatedContext) async throws -> User {
        try await MeRoutes.sessionUser(context, users: users)
    }
}
