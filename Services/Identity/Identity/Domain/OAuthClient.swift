import Foundation
import RampartCore

/// A partner application registered by a tenant: confidential (has a secret) or public (must
/// use PKCE), with exact-match redirect URIs and the scopes it may ask for.
public struct OAuthClient: Codable, Sendable, Equatable {
    public var id: String
    public var tenantID: TenantID
    public var name: String
    public var confidential: Bool
    public var redirectURIs: [String]
    public var scopes: [String]
    public var createdAt: Date
    public var revokedAt: Date?

    enum CodingKeys: String, CodingKey {
        case id, name, confidential, scopes
        case tenantID = "tenant_id"
        case redirectURIs = "redirect_uris"
        case createdAt = "created_at"
        case revokedAt = "revoked_at"
    }

    /// Whether `uri` is one of the registered redirect URIs, compared exactly.
    public func allows(redirectURI uri: String) -> Bool { redirectURIs.contains(uri) }

    /// A redirect URI a client may register: absolute `https` (or `http` on a loopback host,
    /// RFC 8252), no fragment, no user info, at most 500 bytes.
    public static func isValidRedirectURI(_ text: String) -> Bool {
        guard text.utf8.count <= 500, let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
              let host = components.host, !host.isEmpty, components.fragment == nil, components.user == nil, components.password == nil,
              !text.unicodeScalars.contains(where: { $0.value < 0x21 || $0.value == 0x7F })
        else { return false }
        if scheme == "https" { return true }
        return scheme == "http" && ["127.0.0.1", "[::1]", "::1", "localhost"].contains(host.lowercased())
    }
}
