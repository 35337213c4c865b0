import Foundation
import Hummingbird
import RampartCore
import RampartSecurity
import RampartTransport

/// A signed-in user's own TOTP enrollment: `POST /api/v1/me/totp` starts it (secret and
/// `otpauth://` URI, shown once), `POST /api/v1/me/totp/confirm` confirms it with a first code and
/// returns the ten recovery codes, also shown once. Only session principals may enroll.
struct TwoFactorRoutes: Sendable {
    let users: UserRepository
    let twoFactor: TwoFactorRepository

    struct Enrollment: ResponseEncodable {
        var secret: String
        var uri: String
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
        group.post { _, context -> Enrollment in
            let user = try await sessionUser(context)
            do {
                let totp = try await twoFactor.enroll(user)
                return Enrollment(secret: Base32.encode(totp.secret), uri: totp.provisioningURI(issuer: "Rampart (\(context.principal.tenantSlug))", account: user.email.rawValue))
            } catch TwoFactorRepository.TwoFactorError.alreadyEnabled {
                throw ProblemError(status: .conflict, code: "totp_already_enabled", title: "TOTP already enabled")
            }
        }
        group.post("confirm") { request, context -> RecoveryCodes in
            let user = try await sessionUser(context)
            let body = try await IdentityRequest.decode(Confirm.self, from: request, context: context)
            let actor = MeRoutes.actor(user, context.principal)
            do {
                return RecoveryCodes(recoveryCodes: try await twoFactor.confirm(user, code: body.code, actor: actor, requestID: context.requestID))
            } catch TwoFactorRepository.TwoFactorError.wrongCode {
                throw ProblemError(status: .unprocessableContent, code: "invalid_input", title: "Invalid input", fieldErrors: [.init(field: "code", message: "The code is not valid; check the time on your device.")])
            } catch TwoFactorRepository.TwoFactorError.notEnrolling {
                throw ProblemError(status: .conflict, code: "totp_not_enrolling", title: "No enrollment in progress")
            } catch TwoFactorRepository.TwoFactorError.alreadyEnabled {
                throw ProblemError(status: .conflict, code: "totp_already_enabled", title: "TOTP already enabled")
            }
        }
    }

    /// The user behind a session principal; API keys and OAuth tokens cannot enroll factors.
    private func sessionUser(_ context: AuthenticatedContext) async throws -> User {
        try await MeRoutes.sessionUser(context, users: users)
    }
}
