import Foundation

/// What an admin or operator sends to configure single sign-on for one audience: a preset fills
/// in attribute names and MFA signals; the IdP comes from its metadata XML or from entity id, SSO
/// URL and certificates.
public struct SSOConfigurationInput: Codable, Sendable {
    public struct SAML: Codable, Sendable {
        public var entityID: String?
        public var ssoURL: String?
        /// PEM or base64 DER; one, or two during a rollover.
        public var certificates: [String]?
        public var allowSHA1: Bool?
        public var allowIdPInitiated: Bool?
        public var requireEncryptedAssertions: Bool?
        public var signAuthnRequests: Bool?

        enum CodingKeys: String, CodingKey {
            case entityID = "entity_id"
            case ssoURL = "sso_url"
            case certificates
            case allowSHA1 = "allow_sha1"
            case allowIdPInitiated = "allow_idp_initiated"
            case requireEncryptedAssertions = "require_encrypted_assertions"
            case signAuthnRequests = "sign_authn_requests"
        }
    }

    public struct JWT: Codable, Sendable {
        public var issuer: String
        public var audience: String
        public var algorithm: JWTSSOAlgorithm
        /// RS256 / ES256: the site's public key (PEM).
        public var publicKey: String?
        /// HS256: at least 32 bytes; sealed at once, never shown again. Omitted: the stored one stays.
        public var sharedSecret: String?

        enum CodingKeys: String, CodingKey {
            case issuer, audience, algorithm
            case publicKey = "public_key"
            case sharedSecret = "shared_secret"
        }
    }

    public struct OIDC: Codable, Sendable {
        public var issuer: String
        public var clientID: String
        /// Sealed at once, never shown again. Omitted: the stored one stays.
        public var clientSecret: String?
        /// Default `client_secret_basic`.
        public var clientAuthentication: OIDCClientAuthentication?
        /// Default: the preset's.
        public var scopes: [String]?
        /// Default: the preset's claim names.
        public var claims: SSOAttributeNames?
        public var prompt: String?
        public var maxAge: Int?
        public var userInfo: Bool?
        public var logout: Bool?

        public init(issuer: String, clientID: String, clientSecret: String? = nil, clientAuthentication: OIDCClientAuthentication? = nil,
                    scopes: [String]? = nil, claims: SSOAttributeNames? = nil) {
            self.issuer = issuer
            self.clientID = clientID
            self.clientSecret = clientSecret
            self.clientAuthentication = clientAuthentication
            self.scopes = scopes
            self.claims = claims
        }

        enum CodingKeys: String, CodingKey {
            case issuer, scopes, claims, prompt, logout
            case clientID = "client_id"
            case clientSecret = "client_secret"
            case clientAuthentication = "client_authentication"
            case maxAge = "max_age"
            case userInfo = "userinfo"
        }
    }

    public var preset: SSOPreset?
    /// The IdP's metadata XML (an `EntityDescriptor`), instead of `saml.entity_id`, `sso_url`, `certificates`.
    public var samlMetadata: String?
    public var saml: SAML?
    public var jwt: JWT?
    public var oidc: OIDC?
    public var attributes: SSOAttributeNames?
    public var groupRoles: [String: Role]?
    public var defaultRole: Role?
    public var justInTimeProvisioning: Bool?
    public var ssoRequiredRoles: [Role]?
    public var idpSecondFactorRoles: [Role]?
    public var multiFactorContexts: [String]?
    public var breakGlassEmail: String?

    enum CodingKeys: String, CodingKey {
        case preset, saml, jwt, oidc, attributes
        case samlMetadata = "saml_metadata"
        case groupRoles = "group_roles"
        case defaultRole = "default_role"
        case justInTimeProvisioning = "jit_provisioning"
        case ssoRequiredRoles = "sso_required_roles"
        case idpSecondFactorRoles = "idp_second_factor_roles"
        case multiFactorContexts = "mfa_contexts"
        case breakGlassEmail = "break_glass_email"
    }

    /// The configuration this input describes for `audience`, or what is wrong with it, per field.
    public func configuration(for audience: SSOAudience) -> Result<SSOConfiguration, SSOConfigurationProblems> {
        let preset = preset ?? .custom
        var problems: [String: String] = [:]
        var identityProvider: SAMLIdentityProviderSettings?
        if let samlMetadata {
            do throws(SAMLIdentityProviderMetadata.Failure) {
                identityProvider = try SAMLIdentityProviderMetadata.settings(from: Data(samlMetadata.utf8))
            } catch {
                problems["saml_metadata"] = Self.message(error)
            }
        } else if let saml, saml.entityID != nil || saml.ssoURL != nil || saml.certificates != nil {
            let certificates = saml.certificates ?? []
            identityProvider = SAMLIdentityProviderSettings(entityID: saml.entityID ?? "", ssoURL: saml.ssoURL ?? "",
                                                            certificates: certificates.compactMap(SAMLCertificate.normalized))
            if identityProvider?.certificates.count != certificates.count { problems["saml.certificates"] = "each must be an X.509 certificate (PEM or base64 DER)" }
        }
        identityProvider?.allowSHA1 = saml?.allowSHA1 ?? false
        identityProvider?.allowIdPInitiated = saml?.allowIdPInitiated ?? false
        identityProvider?.requireEncryptedAssertions = saml?.requireEncryptedAssertions ?? false
        identityProvider?.signAuthnRequests = saml?.signAuthnRequests ?? false
        // Refused rather than dropped: whoever sent a secret for RS256/ES256 meant another algorithm.
        if let jwt, jwt.algorithm != .hs256, jwt.sharedSecret != nil { problems["jwt.shared_secret"] = "is not used with \(jwt.algorithm.rawValue)" }
        var breakGlass: EmailAddress?
        if let breakGlassEmail {
            breakGlass = EmailAddress(rawValue: breakGlassEmail)
            if breakGlass == nil { problems["break_glass_email"] = "is not an email address" }
        }
        let configuration = SSOConfiguration(
            audience: audience, preset: preset, saml: identityProvider,
            jwt: jwt.map { JWTSSOSettings(issuer: $0.issuer, audience: $0.audience, algorithm: $0.algorithm, publicKeyPEM: $0.publicKey) },
            oidc: oidc.map { OIDCSettings(issuer: $0.issuer, clientID: $0.clientID, clientAuthentication: $0.clientAuthentication ?? .clientSecretBasic,
                                          scopes: $0.scopes ?? preset.oidcScopes, claims: $0.claims ?? preset.oidcClaims, prompt: $0.prompt,
                                          maxAge: $0.maxAge, userInfo: $0.userInfo ?? false, logout: $0.logout ?? false) },
            attributes: attributes ?? preset.attributes,
            groupRoles: groupRoles ?? [:], defaultRole: defaultRole ?? (audience == .customers ? .customer : nil),
            justInTimeProvisioning: justInTimeProvisioning ?? true, ssoRequiredRoles: ssoRequiredRoles ?? [],
            idpSecondFactorRoles: idpSecondFactorRoles ?? [], multiFactorContexts: multiFactorContexts ?? preset.multiFactorContexts,
            breakGlassEmail: breakGlass
        )
        problems.merge(configuration.problems()) { first, _ in first }
        return problems.isEmpty ? .success(configuration) : .failure(SSOConfigurationProblems(fields: problems))
    }

    private static func message(_ failure: SAMLIdentityProviderMetadata.Failure) -> String {
        switch failure {
        case .unreadable: "is not well-formed XML without a DTD"
        case .noIdentityProvider: "holds no single EntityDescriptor with an IDPSSODescriptor"
        case .noRedirectEndpoint: "has no SingleSignOnService with the HTTP-Redirect binding"
        case .certificateCount: "must hold one signing certificate, or two during a rollover"
        }
    }
}

/// Field → message for a configuration that cannot be saved.
public struct SSOConfigurationProblems: Error, Sendable, Equatable {
    public var fields: [String: String]
}
