/// An OAuth 2.0 error as RFC 6749 §5.2 names it; the description helps a developer and never an attacker.
public struct OAuthError: Error, Sendable, Equatable {
    /// The registered error codes this server uses.
    public enum Code: String, Sendable {
        case invalidRequest = "invalid_request"
        case invalidClient = "invalid_client"
        case invalidGrant = "invalid_grant"
        case unauthorizedClient = "unauthorized_client"
        case unsupportedGrantType = "unsupported_grant_type"
        case unsupportedResponseType = "unsupported_response_type"
        case invalidScope = "invalid_scope"
        case accessDenied = "access_denied"
        case unsupportedTokenType = "unsupported_token_type"
    }

    public var code: Code
    public var description: String

    public init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }

    /// Every refused code, refresh token or verifier looks the same from outside.
    public static let invalidGrant = OAuthError(.invalidGrant, "The grant is invalid, expired, revoked, or was issued to another client.")
}
