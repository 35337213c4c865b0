/// What identity refuses, each mapped to one problem code by the routes.
public enum IdentityError: Error, Equatable, Sendable {
    case invalidSlug(String)
    case slugTaken
    case tenantNotFound
    case tenantNotActive
    case invalidTransition(from: String, to: String)
    /// The tenant's purge has begun: it stays cancelled.
    case purgeStarted
    case invalidEmail
    case invalidName
    case emailTaken
    case userNotFound
    case weakPassword([PasswordRuleViolation])
    case invalidScopes([String])
    case scopesExceedRole([String])
    case invalidCIDR(String)
    case invalidExpiry
    case invalidRedirectURI(String)
    case apiKeyNotFound
    case oauthClientNotFound
    case publicClientHasNoSecret
}
