import Foundation
import Hummingbird
import RampartCore
import RampartSecurity
import RampartTransport

/// `POST /api/v1/tokens`: a signed-in user or an API key exchanges its credential for an access
/// token of at most an hour, optionally with fewer scopes. Tokens cannot mint tokens, so a
/// stolen token never outlives its hour.
struct TokenRoutes: Sendable {
    let users: UserRepository
    let apiKeys: APIKeyRepository
    let tokens: TokenRepository

    struct Exchange: Decodable {
        var scopes: [String]?
        var expiresIn: Int?

        enum CodingKeys: String, CodingKey {
            case scopes
            case expiresIn = "expires_in"
        }
    }

    func register(on router: Router<ServiceRequestContext>) {
        router.group("/api/v1/tokens", context: AuthenticatedContext.self).post { request, context -> EditedResponse<OAuthRoutes.TokenResponse> in
            let principal = context.principal
            guard principal.tokenID == nil else { throw Self.notExchangeable }
            let body = try await IdentityRequest.decode(Exchange.self, from: request, context: context)
            let lifetime = body.expiresIn ?? Int(TokenRepository.maximumAccessLifetime)
            guard (60...Int(TokenRepository.maximumAccessLifetime)).contains(lifetime) else {
                throw ProblemError(status: .unprocessableContent, code: "invalid_input", title: "Invalid input",
                                   fieldErrors: [.init(field: "expires_in", message: "Use 60 to 3600 seconds.")])
            }
            let scopes = body.scopes ?? principal.scopes
            guard !scopes.isEmpty, scopes.count <= 20, Set(scopes).isSubset(of: Set(principal.scopes)) else {
                throw ProblemError(status: .unprocessableContent, code: "scopes_exceed_caller", title: "Scopes exceed your own",
                                   fieldErrors: [.init(field: "scopes", message: "Ask only for scopes you hold: \(principal.scopes.joined(separator: ", ")).")])
            }
            var grant = TokenRepository.Grant(tenantID: principal.tenantID, userID: nil, clientID: nil, apiKeyID: nil,
                                              authenticationMethod: principal.authenticationMethod.rawValue, scopes: scopes)
            switch principal.authenticationMethod {
            case .password, .totp, .sso:
                guard principal.sessionID != nil, let user = try await MeRoutes.user(of: principal, users: users), user.status == .active else { throw Self.notExchangeable }
                grant.userID = user.id
            case .apiKey:
                guard principal.subject.hasPrefix("api_key:"), let owner = try await apiKeys.owner(of: String(principal.subject.dropFirst(8)), tenant: principal.tenantID)
                else { throw Self.notExchangeable }
                grant.userID = owner
                grant.apiKeyID = String(principal.subject.dropFirst(8))
            case .oauth, .certificate:
                throw Self.notExchangeable
            }
            let issued: TokenRepository.Issued
            do { issued = try await tokens.issue(grant, lifetime: TimeInterval(lifetime), refresh: false) } catch is TokenRepository.OwnerGone { throw Self.notExchangeable }
            return EditedResponse(status: .created, headers: IdentityRequest.secretHeaders,
                                  response: OAuthRoutes.TokenResponse(issued))
        }
    }

    static let notExchangeable = ProblemError(status: .forbidden, code: "exchange_not_allowed", title: "This credential cannot be exchanged",
                                              detail: "Sign in or use an API key; access tokens cannot mint further tokens.")
}
