import Foundation

/// How Rampart authenticates to the provider's token endpoint with the client secret.
public enum OIDCClientAuthentication: String, Codable, Sendable, CaseIterable {
    case clientSecretBasic = "client_secret_basic"
    case clientSecretPost = "client_secret_post"
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

    public init(issuer: String, clientID: String, clientAuthentication: OIDCClientAuthentication, scopes: [String], claims: SSOAttributeNames,
                sealedSecret: String? = nil) {
        self.issuer = issuer
        self.clientID = clientID
        self.clientAuthentication = clientAuthentication
        self.scopes = scopes
        self.claims = claims
        self.sealedSecret = sealedSecret
    }

    enum CodingKeys: String, CodingKey {
        case issuer, scopes, claims
        case clientID = "client_id"
        case clientAuthentication = "client_authentication"
        case sealedSecret = "sealed_secret"
    }

    /// What is wrong, per field (the secret is checked where it is sealed).
    func problems() -> [String: String] {
        var problems: [String: String] = [:]
        if !SSOConfiguration.isHTTPS(issuer) || issuer.contains("?") { problems["oidc.issuer"] = "must be an absolute https URL without query" }
        if clientID.isEmpty || clientID.utf8.count > 256 || clientID.contains(where: \.isNewline) { problems["oidc.client_id"] = "is required (at most 256 bytes)" }
        if !scopes.contains("openid") || scopes.count > 20
            || scopes.contains(where: { $0.isEmpty || $0.utf8.count > 64 || !$0.unicodeScalars.allSatisfy { (0x21...0x7e).contains($0.value) && $0 != "\"" && $0 != "\\" } }) {
            problems["oidc.scopes"] = "must include openid; at most 20 scopes of printable ASCII"
        }
        for (field, value) in [("oidc.claims.email", claims.email), ("oidc.claims.name", claims.name), ("oidc.claims.groups", claims.groups)]
            where value.isEmpty || value.utf8.count > 256 {
            problems[field] = "is required (at most 256 bytes)"
        }
        return problems
    }
}
