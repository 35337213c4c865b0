import Foundation

/// Who a single sign-on configuration is for: staff (admins and agents) or customers. A tenant
/// may federate each with a different identity provider.
public enum SSOAudience: String, Codable, Sendable, CaseIterable {
    case staff
    case customers

    /// Whether a user of `role` signs in through this audience's configuration.
    public func includes(_ role: Role) -> Bool { role.isStaff == (self == .staff) }

    public static func of(_ role: Role) -> SSOAudience { role.isStaff ? .staff : .customers }
}

/// Well-known identity providers whose attribute names and MFA signals are filled in for the admin.
public enum SSOPreset: String, Codable, Sendable, CaseIterable {
    case okta
    case onelogin
    case entra
    case custom

    /// The attribute names the provider sends by default.
    public var attributes: SSOAttributeNames {
        switch self {
        case .okta: SSOAttributeNames(email: "email", name: "displayName", groups: "groups")
        case .onelogin: SSOAttributeNames(email: "User.email", name: "User.FirstName", groups: "memberOf")
        case .entra: SSOAttributeNames(
            email: "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
            name: "http://schemas.microsoft.com/identity/claims/displayname",
            groups: "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups")
        case .custom: SSOAttributeNames(email: "email", name: "name", groups: "groups")
        }
    }

    /// Authentication context values (or Entra's `authnmethodsreferences` values) that mean the
    /// IdP performed multi-factor authentication.
    public var multiFactorContexts: [String] {
        switch self {
        case .entra: ["http://schemas.microsoft.com/claims/multipleauthn"]
        case .okta: [
            "urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract",
            "urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorUnregistered",
            "https://refeds.org/profile/mfa",
            // Okta's OIDC `acr` for a sign-in policy that required a second factor.
            "urn:okta:loa:2fa:any",
        ]
        case .onelogin, .custom: [
            "urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract",
            "urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorUnregistered",
            "https://refeds.org/profile/mfa",
        ]
        }
    }
}

extension SSOPreset {
    /// The ID-token claims the provider sends email, name and groups in (the same names for all
    /// three; Entra sends `groups` as object ids when the app's `groupMembershipClaims` is set).
    public var oidcClaims: SSOAttributeNames { SSOAttributeNames(email: "email", name: "name", groups: "groups") }

    /// The scopes to ask for: Okta and OneLogin release groups under a `groups` scope; Entra puts
    /// them in the token by app configuration and refuses unknown scopes.
    public var oidcScopes: [String] {
        switch self {
        case .okta, .onelogin: ["openid", "email", "profile", "groups"]
        case .entra, .custom: ["openid", "email", "profile"]
        }
    }
}

/// Where the IdP puts the user's email, display name and groups.
public struct SSOAttributeNames: Codable, Sendable, Equatable {
    public var email: String
    public var name: String
    public var groups: String
}

/// A tenant's SAML identity provider: pinned certificates (two during a rollover), never a key
/// taken from a message.
public struct SAMLIdentityProviderSettings: Codable, Sendable, Equatable {
    public var entityID: String
    /// The IdP's SSO endpoint for the HTTP-Redirect binding.
    public var ssoURL: String
    /// Base64 DER signing certificates.
    public var certificates: [String]
    /// RSA-SHA1 signatures and SHA-1 digests, for a legacy IdP only.
    public var allowSHA1: Bool
    /// IdP-initiated (unsolicited) responses; off unless the tenant opts in.
    public var allowIdPInitiated: Bool
    /// Refuse a plain (unencrypted) assertion; encrypted ones are accepted either way.
    public var requireEncryptedAssertions: Bool
    /// Sign AuthnRequests (HTTP-Redirect binding, RSA-SHA256) with the tenant's SAML signing key.
    public var signAuthnRequests: Bool

    public init(entityID: String, ssoURL: String, certificates: [String], allowSHA1: Bool = false, allowIdPInitiated: Bool = false,
                requireEncryptedAssertions: Bool = false, signAuthnRequests: Bool = false) {
        self.entityID = entityID
        self.ssoURL = ssoURL
        self.certificates = certificates
        self.allowSHA1 = allowSHA1
        self.allowIdPInitiated = allowIdPInitiated
        self.requireEncryptedAssertions = requireEncryptedAssertions
        self.signAuthnRequests = signAuthnRequests
    }

    // Configurations stored before an option existed read as that option off.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(entityID: try container.decode(String.self, forKey: .entityID), ssoURL: try container.decode(String.self, forKey: .ssoURL),
                  certificates: try container.decode([String].self, forKey: .certificates),
                  allowSHA1: try container.decodeIfPresent(Bool.self, forKey: .allowSHA1) ?? false,
                  allowIdPInitiated: try container.decodeIfPresent(Bool.self, forKey: .allowIdPInitiated) ?? false,
                  requireEncryptedAssertions: try container.decodeIfPresent(Bool.self, forKey: .requireEncryptedAssertions) ?? false,
                  signAuthnRequests: try container.decodeIfPresent(Bool.self, forKey: .signAuthnRequests) ?? false)
    }

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

/// One audience's single sign-on: the IdP, how its users become Rampart users, and which roles
/// must use it.
public struct SSOConfiguration: Codable, Sendable, Equatable {
    public var audience: SSOAudience
    public var preset: SSOPreset
    /// SAML 2.0, JWT SSO, OpenID Connect, or several; at least one.
    public var saml: SAMLIdentityProviderSettings?
    public var jwt: JWTSSOSettings?
    public var oidc: OIDCSettings?
    public var attributes: SSOAttributeNames
    /// IdP group → role for just-in-time provisioning; the first matching group in role order wins.
    public var groupRoles: [String: Role]
    /// The role of a provisioned user whose groups map to none; `nil` refuses such users.
    public var defaultRole: Role?
    /// Create users on their first federated sign-in.
    public var justInTimeProvisioning: Bool
    /// Roles whose users may not sign in with a password.
    public var ssoRequiredRoles: [Role]
    /// Roles for which the IdP's multi-factor assertion replaces Rampart's own TOTP requirement.
    public var idpSecondFactorRoles: [Role]
    /// SAML `AuthnContextClassRef` (or Entra's `authnmethodsreferences`) and OIDC `acr` values
    /// that mean the IdP performed multi-factor authentication.
    public var multiFactorContexts: [String]
    /// The one account that may still sign in with a password when its role requires SSO
    /// (audited every time).
    public var breakGlassEmail: EmailAddress?

    enum CodingKeys: String, CodingKey {
        case audience, preset, saml, jwt, oidc, attributes
        case groupRoles = "group_roles"
        case defaultRole = "default_role"
        case justInTimeProvisioning = "jit_provisioning"
        case ssoRequiredRoles = "sso_required_roles"
        case idpSecondFactorRoles = "idp_second_factor_roles"
        case multiFactorContexts = "mfa_contexts"
        case breakGlassEmail = "break_glass_email"
    }

    /// What is wrong with the configuration, per field; empty when it can be saved.
    public func problems() -> [String: String] {
        var problems: [String: String] = [:]
        if saml == nil && jwt == nil && oidc == nil { problems["saml"] = "configure SAML, JWT SSO, OpenID Connect or several" }
        if let saml {
            if saml.entityID.isEmpty || saml.entityID.utf8.count > 1024 { problems["saml.entity_id"] = "is required (at most 1024 bytes)" }
            if !Self.isHTTPS(saml.ssoURL) { problems["saml.sso_url"] = "must be an absolute https URL" }
            if !(1...2).contains(saml.certificates.count) { problems["saml.certificates"] = "one certificate, or two during a rollover" }
            if saml.certificates.contains(where: { SAMLCertificate.normalized($0) != $0 }) {
                problems["saml.certificates"] = "each must be an X.509 certificate (base64 DER)"
            }
        }
        if let jwt { problems.merge(jwt.problems()) { first, _ in first } }
        if let oidc { problems.merge(oidc.problems()) { first, _ in first } }
        if let role = (Array(groupRoles.values) + (defaultRole.map { [$0] } ?? [])).first(where: { !audience.includes($0) }) {
            problems["group_roles"] = "role \(role.rawValue) is not a \(audience.rawValue) role"
        }
        if groupRoles.count > 100 || groupRoles.keys.contains(where: { $0.isEmpty || $0.utf8.count > 256 }) {
            problems["group_roles"] = "at most 100 groups, each 1–256 bytes"
        }
        if ssoRequiredRoles.contains(where: { !audience.includes($0) }) { problems["sso_required_roles"] = "only \(audience.rawValue) roles" }
        if idpSecondFactorRoles.contains(where: { !audience.includes($0) }) { problems["idp_second_factor_roles"] = "only \(audience.rawValue) roles" }
        for (field, value) in [("attributes.email", attributes.email), ("attributes.name", attributes.name), ("attributes.groups", attributes.groups)]
            where value.isEmpty || value.utf8.count > 256 {
            problems[field] = "is required (at most 256 bytes)"
        }
        return problems
    }

    static func isHTTPS(_ text: String) -> Bool {
        guard let url = URL(string: text), url.scheme == "https", let host = url.host, !host.isEmpty, url.fragment == nil else { return false }
        return text.utf8.count <= 2048
    }
}
