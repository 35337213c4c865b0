import Foundation
import RampartCore

/// Who is calling, as the gateway forwards it to a service after identity resolved the credential.
///
/// Services never see raw credentials: they see this, signed by identity, short-lived and
/// addressed to them alone.
public struct Principal: Codable, Sendable, Equatable {
    /// What kind of party the subject is.
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case admin
        case agent
        case customer
        case apiClient = "api_client"
        case `operator`
    }

    /// How the subject proved who they are.
    public enum AuthenticationMethod: String, Codable, Sendable, CaseIterable {
        case password
        case totp
        case sso
        case apiKey = "api_key"
        case oauth
        case certificate
    }

    public var tenantID: TenantID
    public var tenantSlug: TenantSlug
    public var region: Region
    /// The user, API key or OAuth client the request acts as.
    public var subject: String
    public var kind: Kind
    public var roles: [String]
    public var scopes: [String]
    public var authenticationMethod: AuthenticationMethod
    /// The session the request came with, for session principals (sign-out, "this device").
    public var sessionID: String?
    /// The short-lived access token the request came with, if any (tokens cannot mint tokens).
    public var tokenID: String?
    /// The OAuth client acting, for OAuth access tokens.
    public var clientID: String?
    /// For session principals: the session's anti-CSRF token (`CSRFToken`), which forms rendered
    /// by any service carry and check, so no service but identity needs identity's key.
    public var csrfToken: String?

    public init(
        tenantID: TenantID, tenantSlug: TenantSlug, region: Region, subject: String, kind: Kind,
        roles: [String], scopes: [String], authenticationMethod: AuthenticationMethod, sessionID: String? = nil,
        tokenID: String? = nil, clientID: String? = nil, csrfToken: String? = nil
    ) {
        self.tenantID = tenantID
        self.tenantSlug = tenantSlug
        self.region = region
        self.subject = subject
        self.kind = kind
        self.roles = roles
        self.scopes = scopes
        self.authenticationMethod = authenticationMethod
        self.sessionID = sessionID
        self.tokenID = tokenID
        self.clientID = clientID
        self.csrfToken = csrfToken
    }

    /// Whether the principal was granted `scope` (for example `tickets:read`).
    public func has(scope: String) -> Bool { scopes.contains(scope) }

    /// The user the principal acts as, for a `user:{id}` subject; `nil` for API keys, OAuth
    /// clients and operators.
    public var userID: UUID? { Self.userID(subject: subject) }

    /// The user signed in through a browser session (password, TOTP or single sign-on), or `nil`
    /// for an API key, an OAuth client acting for a user, or an operator: pages and actions about
    /// a person's own account (their sessions, their activity) ask for this, not `userID`.
    public var sessionUserID: UUID? {
        guard sessionID != nil, [.password, .totp, .sso].contains(authenticationMethod) else { return nil }
        return userID
    }

    /// The subject identity gives a user's principals.
    public static func subject(ofUser id: UUID) -> String { "user:\(id.uuidString.lowercased())" }

    /// The user of a `user:{id}` subject (audit records actors by it), or `nil`.
    public static func userID(subject: String) -> UUID? {
        guard subject.hasPrefix("user:") else { return nil }
        return UUID(uuidString: String(subject.dropFirst(5)))
    }
}
