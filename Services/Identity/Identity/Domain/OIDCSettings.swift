import Foundation

/// How Rampart authenticates to the provider's token endpoint: with the client secret, or with a
/// JWT signed by the tenant's own key (`private_key_jwt`, RFC 7523; no secret is shared).
public enum OIDCClientAuthentication: String, Codable, Sendable, CaseIterable {
    case clientSecretBasic = "client_secret_basic"
    case clientSecretPost = "client_secret_post"
    case privateKeyJWT = "private_key_jwt"
}

/// A tenant's OpenID Connect provider: the issuer (its endpoints and keys come from discovery),
/// the client Rampart is registered as, and the claims that carry email, name and groups. The
/// client secret is sealed with the tenant's data key and never shown again.
public struct OIDCSettings: Codable, Sendable, Equatable {
    /// `https` only; discovery's `issuer` must equal it exactly.
    public var issuer: String
    public var clientID: String
    public var clientAuthentication: OIDCClientAuthentication
    /// Requested scopes; `openid` is always among them.
    public var scopes: [String]
    public var claims: SSOAttributeNames
    /// The client secret sealed with the tenant's data key (base64); shown only as `set`.
    public var sealedSecret: String?
    /// `prompt` sent with every authorization request (`login`, `consent`, `select_account`, or
    /// `none`); with `login`, the ID token's `auth_time` must be after the request started.
    public var prompt: String?
    /// `max_age` in seconds; the ID token's `auth_time` must be at most that old.
    public var maxAge: Int?
    /// Read email, name and groups from the UserInfo endpoint too (its `sub` must equal the ID token's).
    public var userInfo: Bool
    /// Sign the user out at the provider as well (RP-initiated logout, `end_session_endpoint`).
    public var logout: Bool

    public init(issuer: String, clientID: String, clientAuthentication: OIDCClientAuthentication, scopes: [String], claims: SSOAttributeNames,
                sealedSecret: String? = nil, prompt: String? = nil, maxAge: Int? = nil, userInfo: Bool = false, logout: Bool = false) {
        self.issuer = issuer
        self.clientID = clientID
        self.clientAuthentication = clientAuthentication
        self.scopes = scopes
        self.claims = claims
        self.sealedSecret = sealedSecret
        self.prompt = prompt
        self.maxAge = maxAge
        self.userInfo = userInfo
        self.logout = logout
    }

    // Configurations stored before an option existed read as that option off.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(issuer: try c.decode(String.self, forKey: .issuer), clientID: try c.decode(String.self, forKey: .clientID),
                  clientAuthentication: try c.decode(OIDCClientAuthentication.self, forKey: .clientAuthentication),
                  scopes: try c.decode([String].self, forKey: .scopes), claims: try c.decode(SSOAttributeNames.self, forKey: .claims),
                  sealedSecret: try c.decodeIfPresent(String.self, forKey: .sealedSecret), prompt: try c.decodeIfPresent(String.self, forKey: .prompt),
                  maxAge: try c.decodeIfPresent(Int.self, forKey: .maxAge), userInfo: try c.decodeIfPresent(Bool.self, forKey: .userInfo) ?? false,
                  logout: try c.decodeIfPresent(Bool.self, forKey: .logout) ?? false)
    }

    enum CodingKeys: String, CodingKey {
        case issuer, scopes, claims, prompt, logout
        case clientID = "client_id"
        case clientAuthentication = "client_authentication"
        case sealedSecret = "sealed_secret"
        case maxAge = "max_age"
        case userInfo = "userinfo"
    }

    /// The `prompt` values OpenID Connect Core §3.1.2.1 defines; `none` stands alone.
    static let promptValues: Set<String> = ["none", "login", "consent", "select_account"]

    /// What is wrong, per field (the secret is checked where it is sealed).
    func problems() -> [String: String] {
        var problems: [String: String] = [:]
        if !SSOConfiguration.isHTTPS(issuer) || issuer.contains("?") { problems["oidc.issuer"] = "must be an absolute https URL without query" }
        if clientID.isEmpty || clientID.utf8.count > 256 || clientID.contains(where: \.isNewline) { problems["oidc.client_id"] = "is required (at most 256 bytes)" }
        if !scopes.contains("openid") || scopes.count > 20
            || scopes.contains(where: { $0.isEmpty || $0.utf8.count > 64 || !$0.unicodeScalars.allSatisfy { (0x21...0x7e).contains($0.value) && $0 != "\"" && $0 != "\\" } }) {
            problems["oidc.scopes"] = "must include openid; at most 20 scopes of printable ASCII"
        }
        if let prompt {
            let values = prompt.split(separator: " ").map(String.init)
            if values.isEmpty || !values.allSatisfy(Self.promptValues.contains) || Set(values).count != values.count || (values.contains("none") && values.count > 1) {
                problems["oidc.prompt"] = "space-separated login, consent, select_account, or none alone"
            }
        }
        if let maxAge, !(0...30 * 86400).contains(maxAge) { problems["oidc.max_age"] = "0 to 2592000 seconds" }
        for (field, value) in [("oidc.claims.email", claims.email), ("oidc.claims.name", claims.name), ("oidc.claims.groups", claims.groups)]
            where value.isEmpty || value.utf8.count > 256 {
            problems[field] = "is required (at most 256 bytes)"
        }
        return problems
    }
}
