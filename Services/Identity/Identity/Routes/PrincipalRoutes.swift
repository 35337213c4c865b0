import Foundation
import Hummingbird
import RampartCore
import RampartSecurity
import RampartTransport

/// `POST /internal/v1/principal`: the gateway hands over the credential it received at a
/// tenant's host and gets back a signed principal for one service, or a refusal.
struct PrincipalRoutes: Sendable {
    let issuer: PrincipalIssuer
    let csrf: CSRFToken

    struct Resolve: Decodable {
        var tenant: String
        /// A bearer credential (`Authorization: Bearer …`): an API key or an access token.
        var credential: String?
        /// The session cookie's value.
        var session: String?
        var audience: ServiceName
        var clientIP: String?

        enum CodingKeys: String, CodingKey {
            case tenant, credential, session, audience
            case clientIP = "client_ip"
        }
    }

    struct Resolved: ResponseEncodable {
        var principal: String
        var expiresIn: Int
        var tenantID: TenantID
        var subject: String
        var scopes: [String]
        /// For a session: the anti-CSRF token the gateway requires on its state-changing requests.
        var csrfToken: String?

        enum CodingKeys: String, CodingKey {
            case principal, subject, scopes
            case csrfToken = "csrf_token"
            case expiresIn = "expires_in"
            case tenantID = "tenant_id"
        }
    }

    func register(on router: Router<ServiceRequestContext>) {
        router.post("/internal/v1/principal") { request, context -> Resolved in
            let body = try await IdentityRequest.decode(Resolve.self, from: request, context: context)
            guard (body.credential ?? body.session ?? "").utf8.count <= 4096, body.tenant.utf8.count <= 64,
                  (body.credential == nil) != (body.session == nil)
            else {
                throw ProblemError(status: .badRequest, code: "malformed_body", title: "Malformed request body", detail: "Send exactly one of credential and session.")
            }
            let clientIP = body.clientIP.flatMap { CIDR.isAddress($0) ? $0 : nil }
            let outcome = if let credential = body.credential {
                try await issuer.resolve(credential: credential, tenantSlug: body.tenant, audience: body.audience, clientIP: clientIP)
            } else {
                try await issuer.resolve(sessionToken: body.session ?? "", tenantSlug: body.tenant, audience: body.audience)
            }
            switch outcome {
            case .success(let issued):
                return Resolved(principal: issued.token, expiresIn: issued.expiresIn, tenantID: issued.principal.tenantID, subject: issued.principal.subject, scopes: issued.principal.scopes,
                                csrfToken: issued.principal.sessionID.map(csrf.token(for:)))
            case .failure(let refusal):
                context.logger.info("principal.refused", metadata: ["reason": "\(refusal.rawValue)", "tenant.slug": "\(body.tenant.prefix(64))"])
                throw ProblemError(status: .unauthorized, code: "credential_refused", title: "Credential refused",
                                   detail: refusal == .unsupportedCredential ? "Send an API key or an access token." : nil)
            }
        }
    }
}
