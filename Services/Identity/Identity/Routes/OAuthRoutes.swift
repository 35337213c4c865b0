import Foundation
import HTTPTypes
import Hummingbird
import RampartCore
import RampartSecurity
import RampartTransport
import RampartWeb

/// The OAuth 2.0 endpoints partners call at a tenant's host: token (RFC 6749), introspection
/// (RFC 7662), revocation (RFC 7009), server metadata (RFC 8414) and the JWKS. Errors follow
/// RFC 6749 §5.2; every response carrying a token is `no-store`.
struct OAuthRoutes: Sendable {
    let tenants: TenantRepository
    let clients: OAuthClientRepository
    let grants: OAuthGrants
    let tokens: TokenRepository
    let keySet: PrincipalKeySet
    let region: Region
    let baseDomain: String

    func register(on router: Router<ServiceRequestContext>) {
        router.post("/oauth/token") { request, context in
            try await respond { try await token(request, context) }
        }
        router.post("/oauth/introspect") { request, context in
            try await respond { try await introspect(request, context) }
        }
        router.post("/oauth/revoke") { request, context in
            try await respond { try await revoke(request, context) }
        }
        router.get("/.well-known/oauth-authorization-server") { request, context -> Response in
            let (_, host) = try await publicTenant(request, context)
            return try Self.json(Metadata(issuer: "https://\(host)"), status: .ok, cache: "public, max-age=300")
        }
        router.get("/.well-known/jwks.json") { request, context -> Response in
            _ = try await publicTenant(request, context)
            var response = Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: try keySet.jwks())))
            response.headers[.contentType] = "application/jwk-set+json"
            response.headers[.cacheControl] = "public, max-age=300"
            return response
        }
    }

    // MARK: Endpoints

    private func token(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let (tenant, _) = try await publicTenant(request, context)
        let form = try await Self.form(request)
        let client = try await authenticate(request, form, tenant: tenant)
        let scopes = try form["scope"].map(Self.scopes)
        let outcome: Result<TokenRepository.Issued, OAuthError>
        switch form["grant_type"] {
        case "authorization_code":
            guard let code = form["code"] else { throw OAuthError(.invalidRequest, "The code parameter is required.") }
            if let verifier = form["code_verifier"], !PKCE.isValidVerifier(verifier) {
                throw OAuthError(.invalidRequest, "The code verifier must be 43 to 128 unreserved characters.")
            }
            outcome = try await grants.redeem(code: code, client: client, redirectURI: form["redirect_uri"], verifier: form["code_verifier"])
        case "refresh_token":
            guard let refresh = form["refresh_token"] else { throw OAuthError(.invalidRequest, "The refresh_token parameter is required.") }
            outcome = try await grants.refresh(token: refresh, client: client, scopes: scopes)
        case "client_credentials":
            outcome = try await grants.clientCredentials(client: client, scopes: scopes)
        case nil:
            throw OAuthError(.invalidRequest, "The grant_type parameter is required.")
        default:
            throw OAuthError(.unsupportedGrantType, "Use authorization_code, refresh_token or client_credentials.")
        }
        let issued = try outcome.get()
        context.logger.info("oauth.token_issued", metadata: ["tenant.id": "\(tenant.id)", "oauth.client": "\(client.id)", "oauth.grant": "\(form["grant_type"] ?? "")"])
        return try Self.json(TokenResponse(issued), status: .ok, cache: "no-store")
    }

    private func introspect(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let (tenant, host) = try await publicTenant(request, context)
        let form = try await Self.form(request)
        let client = try await authenticate(request, form, tenant: tenant)
        // Introspection needs a client that can keep a secret (RFC 7662 §2.1).
        guard client.confidential else { throw ClientAuthenticationFailed(usedBasic: false) }
        guard let presented = form["token"] else { throw OAuthError(.invalidRequest, "The token parameter is required.") }
        // Only the client a token was issued to learns anything about it.
        guard let credential = SecretCredential(presented: presented),
              let resolved = try await tokens.resolve(credential, tenant: tenant.id, clientIP: nil), resolved.clientID == client.id
        else { return try Self.json(Introspection(active: false), status: .ok, cache: "no-store") }
        let principal = PrincipalIssuer.principal(for: resolved, tenant: tenant)
        return try Self.json(Introspection(
            active: true, scope: resolved.scopes.joined(separator: " "), clientID: client.id, subject: principal.subject,
            tokenType: resolved.kind == .accessToken ? "Bearer" : "refresh_token", expiresAt: Int(resolved.expiresAt.timeIntervalSince1970),
            issuedAt: Int(resolved.issuedAt.timeIntervalSince1970), issuer: "https://\(host)", username: resolved.user?.email.rawValue
        ), status: .ok, cache: "no-store")
    }

    private func revoke(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let (tenant, _) = try await publicTenant(request, context)
        let form = try await Self.form(request)
        let client = try await authenticate(request, form, tenant: tenant)
        guard let presented = form["token"] else { throw OAuthError(.invalidRequest, "The token parameter is required.") }
        if let credential = SecretCredential(presented: presented), [.accessToken, .refreshToken].contains(credential.kind) {
            try await tokens.revoke(credential, clientID: client.id, tenant: tenant.id)
        }
        var response = Response(status: .ok)
        response.headers[.cacheControl] = "no-store"
        return response
    }

    // MARK: Plumbing

    /// The active tenant and public host name of a request forwarded by the gateway.
    private func publicTenant(_ request: Request, _ context: ServiceRequestContext) async throws -> (Tenant, String) {
        let forwarded = try ForwardedRequest(request, context: context, region: region, baseDomain: baseDomain)
        guard let tenant = try await tenants.find(slug: forwarded.tenant), tenant.status == .active else {
            throw ProblemError(status: .notFound, code: "not_found", title: "Not found")
        }
        return (tenant, forwarded.host)
    }

    /// The client authenticated by HTTP Basic or by `client_id`/`client_secret` in the body
    /// (RFC 6749 §2.3.1), never both; a public client sends only `client_id`.
    private func authenticate(_ request: Request, _ form: FormBody, tenant: Tenant) async throws -> OAuthClient {
        var clientID = form["client_id"]
        var secret = form["client_secret"]
        let basic = request.headers[.authorization].flatMap { $0.lowercased().hasPrefix("basic ") ? String($0.dropFirst(6)) : nil }
        if let basic {
            guard secret == nil, let decoded = Data(base64Encoded: basic).map({ String(decoding: $0, as: UTF8.self) }),
                  let colon = decoded.firstIndex(of: ":"),
                  let id = String(decoded[..<colon]).removingPercentEncoding,
                  let pass = String(decoded[decoded.index(after: colon)...]).removingPercentEncoding,
                  clientID == nil || clientID == id
            else { throw OAuthError(.invalidRequest, "Authenticate the client one way: HTTP Basic or body parameters.") }
            clientID = id
            secret = pass
        }
        guard let clientID, let client = try await clients.authenticate(clientID: clientID, secret: secret, tenant: tenant.id) else {
            throw ClientAuthenticationFailed(usedBasic: basic != nil)
        }
        return client
    }

    private static func form(_ request: Request) async throws -> FormBody {
        do {
            return try await FormBody.read(request)
        } catch .repeated(let name) {
            throw OAuthError(.invalidRequest, "The \(name.prefix(40)) parameter appears more than once.")
        } catch .tooLarge {
            throw OAuthError(.invalidRequest, "The request body is too large.")
        } catch .wrongContentType {
            throw OAuthError(.invalidRequest, "Send application/x-www-form-urlencoded.")
        } catch {
            throw OAuthError(.invalidRequest, "The request body is not a valid form.")
        }
    }

    /// A space-separated scope parameter of known scopes.
    static func scopes(_ text: String) throws -> [String] {
        let scopes = text.split(separator: " ").map(String.init)
        guard !scopes.isEmpty, scopes.count <= 20, scopes.allSatisfy(Permission.scopes.contains) else {
            throw OAuthError(.invalidScope, "Unknown scope requested.")
        }
        return Array(Set(scopes)).sorted()
    }

    struct ClientAuthenticationFailed: Error {
        var usedBasic: Bool
    }

    /// Runs an endpoint, answering OAuth errors in RFC 6749 §5.2 form.
    private func respond(_ body: () async throws -> Response) async throws -> Response {
        do {
            return try await body()
        } catch let error as OAuthError {
            return try Self.json(ErrorBody(error: error.code.rawValue, description: error.description), status: .badRequest, cache: "no-store")
        } catch let failure as ClientAuthenticationFailed {
            var response = try Self.json(ErrorBody(error: OAuthError.Code.invalidClient.rawValue, description: "Client authentication failed."),
                                         status: .unauthorized, cache: "no-store")
            if failure.usedBasic { response.headers[.wwwAuthenticate] = "Basic realm=\"rampart\", charset=\"UTF-8\"" }
            return response
        }
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status, cache: String) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var response = Response(status: status, body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
        response.headers[.contentType] = "application/json"
        response.headers[.cacheControl] = cache
        return response
    }

    // MARK: Documents

    struct ErrorBody: Encodable {
        var error: String
        var description: String

        enum CodingKeys: String, CodingKey {
            case error
            case description = "error_description"
        }
    }

    /// An access token (and refresh token) as RFC 6749 §5.1 returns it; also the token exchange's answer.
    struct TokenResponse: ResponseEncodable {
        var accessToken: String
        var tokenType = "Bearer"
        var expiresIn: Int
        var refreshToken: String?
        var scope: String

        init(_ issued: TokenRepository.Issued) {
            accessToken = issued.accessToken
            expiresIn = issued.expiresIn
            refreshToken = issued.refreshToken
            scope = issued.scopes.joined(separator: " ")
        }

        enum CodingKeys: String, CodingKey {
            case scope
            case accessToken = "access_token"
            case tokenType = "token_type"
            case expiresIn = "expires_in"
            case refreshToken = "refresh_token"
        }
    }

    struct Introspection: Encodable {
        var active: Bool
        var scope: String?
        var clientID: String?
        var subject: String?
        var tokenType: String?
        var expiresAt: Int?
        var issuedAt: Int?
        var issuer: String?
        var username: String?

        enum CodingKeys: String, CodingKey {
            case active, scope, username
            case clientID = "client_id"
            case subject = "sub"
            case tokenType = "token_type"
            case expiresAt = "exp"
            case issuedAt = "iat"
            case issuer = "iss"
        }
    }

    /// RFC 8414 authorization server metadata for one tenant's issuer.
    struct Metadata: Encodable {
        var issuer: String
        var authorizationEndpoint: String
        var tokenEndpoint: String
        var introspectionEndpoint: String
        var revocationEndpoint: String
        var jwksURI: String
        var responseTypesSupported = ["code"]
        var grantTypesSupported = ["authorization_code", "refresh_token", "client_credentials"]
        var codeChallengeMethodsSupported = ["S256"]
        var tokenEndpointAuthMethodsSupported = ["client_secret_basic", "client_secret_post", "none"]
        var introspectionEndpointAuthMethodsSupported = ["client_secret_basic", "client_secret_post"]
        var revocationEndpointAuthMethodsSupported = ["client_secret_basic", "client_secret_post", "none"]
        var scopesSupported = Permission.scopes.sorted()
        var responseModesSupported = ["query"]
        var authorizationResponseIssParameterSupported = true

        init(issuer: String) {
            self.issuer = issuer
            authorizationEndpoint = "\(issuer)/oauth/authorize"
            tokenEndpoint = "\(issuer)/oauth/token"
            introspectionEndpoint = "\(issuer)/oauth/introspect"
            revocationEndpoint = "\(issuer)/oauth/revoke"
            jwksURI = "\(issuer)/.well-known/jwks.json"
        }

        enum CodingKeys: String, CodingKey {
            case issuer
            case authorizationEndpoint = "authorization_endpoint"
            case tokenEndpoint = "token_endpoint"
            case introspectionEndpoint = "introspection_endpoint"
            case revocationEndpoint = "revocation_endpoint"
            case jwksURI = "jwks_uri"
            case responseTypesSupported = "response_types_supported"
            case grantTypesSupported = "grant_types_supported"
            case codeChallengeMethodsSupported = "code_challenge_methods_supported"
            case tokenEndpointAuthMethodsSupported = "token_endpoint_auth_methods_supported"
            case introspectionEndpointAuthMethodsSupported = "introspection_endpoint_auth_methods_supported"
            case revocationEndpointAuthMethodsSupported = "revocation_endpoint_auth_methods_supported"
            case scopesSupported = "scopes_supported"
            case responseModesSupported = "response_modes_supported"
            case authorizationResponseIssParameterSupported = "authorization_response_iss_parameter_supported"
        }
    }
}
