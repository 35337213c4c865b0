import Foundation
import HTTPTypes
import Hummingbird
import RampartCore
import RampartSecurity
import RampartTransport

/// Public sign-in, reached through the gateway: `POST /auth/password` with `{email, password}`
/// at a tenant's host. The gateway forwards the host and client address; identity trusts those
/// headers from the gateway's certificate only.
struct SignInRoutes: Sendable {
    let tenants: TenantRepository
    let signIn: PasswordSignIn
    let region: Region
    let baseDomain: String

    struct Credentials: Decodable {
        var email: String
        var password: String
    }

    struct SignedIn: ResponseEncodable {
        var user: User
        var expiresAt: Date

        enum CodingKeys: String, CodingKey {
            case user
            case expiresAt = "expires_at"
        }
    }

    static let refused = ProblemError(status: .unauthorized, code: "invalid_credentials", title: "Sign-in failed",
                                      detail: "The email address or password is incorrect.")

    func register(on router: Router<ServiceRequestContext>) {
        router.post("/auth/password") { request, context -> Response in
            let forwarded = try ForwardedRequest(request, context: context, region: region, baseDomain: baseDomain)
            let body = try await IdentityRequest.decode(Credentials.self, from: request, context: context)
            guard body.email.utf8.count <= 320, body.password.utf8.count <= PasswordHasher.maximumInputBytes else { throw Self.refused }
            guard let tenant = try await tenants.find(slug: forwarded.tenant), tenant.status == .active else {
                // Same answer and the same hashing work as a wrong password: the tenant is not revealed either.
                return try respond(to: try await signIn.refuseWithoutTenant(password: body.password), request, context)
            }
            let origin = PasswordSignIn.Origin(ip: forwarded.clientIP, userAgent: request.headers[.userAgent], requestID: context.requestID)
            return try respond(to: try await signIn.signIn(tenant: tenant, email: body.email, password: body.password, origin: origin), request, context)
        }
        router.post("/auth/totp") { request, context -> Response in
            let forwarded = try ForwardedRequest(request, context: context, region: region, baseDomain: baseDomain)
            let body = try await IdentityRequest.decode(SecondFactor.self, from: request, context: context)
            guard body.code.utf8.count <= 32, let tenant = try await tenants.find(slug: forwarded.tenant), tenant.status == .active else {
                throw Self.refused
            }
            let origin = PasswordSignIn.Origin(ip: forwarded.clientIP, userAgent: request.headers[.userAgent], requestID: context.requestID)
            return try respond(to: try await signIn.completeSecondFactor(tenant: tenant, challenge: body.challenge, code: body.code, origin: origin), request, context)
        }
    }

    struct SecondFactor: Decodable {
        var challenge: String
        var code: String
    }

    struct SecondFactorRequired: ResponseEncodable {
        var status = "second_factor_required"
        var challenge: String
        var methods = ["totp", "recovery_code"]
        var expiresAt: Date

        enum CodingKeys: String, CodingKey {
            case status, challenge, methods
            case expiresAt = "expires_at"
        }
    }

    private func respond(to outcome: PasswordSignIn.Outcome, _ request: Request, _ context: ServiceRequestContext) throws -> Response {
        var response: Response
        switch outcome {
        case .refused:
            throw Self.refused
        case .throttled(let wait):
            throw ProblemError(status: .tooManyRequests, code: "too_many_attempts", title: "Too many attempts",
                               detail: "Sign-in is paused for this account or address; try again later.",
                               headers: [.retryAfter: String(max(1, wait.components.seconds))])
        case .secondFactorRequired(let challenge, let expiresAt):
            response = try context.responseEncoder.encode(SecondFactorRequired(challenge: challenge, expiresAt: expiresAt), from: request, context: context)
        case .signedIn(let user, let token, _, let expiresAt):
            response = try context.responseEncoder.encode(SignedIn(user: user, expiresAt: expiresAt), from: request, context: context)
            response.headers[.setCookie] = Self.sessionCookie(token: token, expiresAt: expiresAt)
        }
        response.headers[.cacheControl] = "no-store"
        return response
    }

    /// `__Host-` prefixed (Secure, Path=/, no Domain), HttpOnly, SameSite=Lax.
    static func sessionCookie(token: String, expiresAt: Date) -> String {
        let maxAge = max(0, Int(expiresAt.timeIntervalSinceNow))
        return "\(SessionRepository.cookieName)=\(token); Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=\(maxAge)"
    }
}

/// What the gateway tells identity about a public request: the tenant from the host name and the
/// client's address. Accepted from this region's gateway only.
struct ForwardedRequest {
    let tenant: TenantSlug
    /// The public host name as the client used it (`acme.eu.example.com[:port]`, lowercased).
    let host: String
    let clientIP: String?

    init(_ request: Request, context: ServiceRequestContext, region: Region, baseDomain: String) throws {
        guard case .service(.gateway, region) = context.caller else {
            throw ProblemError(status: .forbidden, code: "caller_not_allowed", title: "Caller not allowed")
        }
        guard let host = request.headers[HTTPField.Name("X-Forwarded-Host")!],
              let slug = Self.tenant(fromHost: host, region: region, baseDomain: baseDomain)
        else {
            throw ProblemError(status: .notFound, code: "not_found", title: "Not found")
        }
        tenant = slug
        self.host = host.lowercased()
        clientIP = request.headers[HTTPField.Name("X-Forwarded-For")!].flatMap { value in
            let ip = value.split(separator: ",").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            return CIDR.isAddress(ip) ? ip : nil
        }
    }

    /// `acme` from `acme.eu.example.com[:port]` when region and base domain match; otherwise `nil`.
    static func tenant(fromHost host: String, region: Region, baseDomain: String) -> TenantSlug? {
        let parts = host.lowercased().split(separator: ":", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), parts.count == 1 || (1...5).contains(parts[1].count) && parts[1].allSatisfy(\.isASCII) && parts[1].allSatisfy(\.isNumber)
        else { return nil }
        let name = String(parts[0])
        let suffix = ".\(region).\(baseDomain)"
        guard name.hasSuffix(suffix) else { return nil }
        return TenantSlug(rawValue: String(name.dropLast(suffix.count)))
    }
}
