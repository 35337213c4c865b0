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
            let buffer = try await request.body.collect(upTo: 4096)
            guard request.headers[.contentType]?.hasPrefix("application/json") == true,
                  let body = try? JSONDecoder().decode(Confirm.self, from: Data(buffer.readableBytesView))
            else { throw ProblemError(status: .badRequest, code: "malformed_body", title: "Malformed request body") }
            let actor = AuditEvent.Actor(type: user.role == .admin ? "admin" : (user.role == .customer ? "customer" : "agent"),
                                         id: user.id.uuidString.lowercased(), displayName: user.email.rawValue, authenticationMethod: context.principal.authenticationMethod.rawValue)
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
        let principal = context.principal
        guard [.password, .totp, .sso].contains(principal.authenticationMethod), principal.subject.hasPrefix("user:"),
              let id = UUID(uuidString: String(principal.subject.dropFirst(5))),
              let user = try await users.find(id: id, tenant: principal.tenantID), user.status == .active
        else { throw ProblemError(status: .forbidden, code: "session_required", title: "Sign in to manage your second factor") }
        return user
    }
}
