import Foundation

/// The one signature algorithm a JWT SSO configuration accepts.
public enum JWTSSOAlgorithm: String, Codable, Sendable, CaseIterable {
    case hs256 = "HS256"
    case rs256 = "RS256"
    case es256 = "ES256"
}

/// JWT SSO (as Deskpro and similar helpdesks offer it): the tenant's own site signs a short-lived
/// JWT and sends the user to `/auth/jwt?jwt=…&return_to=…`.
public struct JWTSSOSettings: Codable, Sendable, Equatable {
    public var issuer: String
    public var audience: String
    public var algorithm: JWTSSOAlgorithm
    /// RS256 / ES256: the site's public key (PEM).
    public var publicKeyPEM: String?
    /// HS256: the shared secret sealed with the tenant's data key (base64); never shown again.
    public var sealedSecret: String?

    public init(issuer: String, audience: String, algorithm: JWTSSOAlgorithm, publicKeyPEM: String? = nil, sealedSecret: String? = nil) {
        self.issuer = issuer
        self.audience = audience
        self.algorithm = algorithm
        self.publicKeyPEM = publicKeyPEM
        self.sealedSecret = sealedSecret
    }

    enum CodingKeys: String, CodingKey {
        case issuer, audience, algorithm
        case publicKeyPEM = "public_key"
        case sealedSecret = "sealed_secret"
    }

    /// What is wrong, per field (the HS256 secret is checked where it is sealed).
    func problems() -> [String: String] {
        var problems: [String: String] = [:]
        if issuer.isEmpty || issuer.utf8.count > 1024 { problems["jwt.issuer"] = "is required (at most 1024 bytes)" }
        if audience.isEmpty || audience.utf8.count > 1024 { problems["jwt.audience"] = "is required (at most 1024 bytes)" }
        switch algorithm {
        case .hs256:
            if publicKeyPEM != nil { problems["jwt.public_key"] = "is not used with HS256" }
        case .rs256, .es256:
            if (try? JWTSSOToken.VerificationKey(algorithm: algorithm, publicKeyPEM: publicKeyPEM ?? "")) == nil {
                problems["jwt.public_key"] = algorithm == .rs256 ? "must be an RSA public key of at least 2048 bits (PEM)" : "must be a P-256 public key (PEM)"
            }
        }
        return problems
    }
}
