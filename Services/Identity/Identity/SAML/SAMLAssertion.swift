import Foundation

/// What a validated SAML assertion says, read only from the element the signature covers.
public struct SAMLAssertion: Sendable, Equatable {
    public var id: String
    public var issuer: String
    /// The NameID: the subject federated identities are keyed by (with the tenant and issuer).
    public var subject: String
    /// The request this answers; `nil` for an IdP-initiated response.
    public var inResponseTo: String?
    /// When the assertion stops being usable: how long its id stays in the replay cache.
    public var notOnOrAfter: Date
    /// Attribute name → values.
    public var attributes: [String: [String]]
    /// `AuthnContextClassRef` values: how the user authenticated at the IdP.
    public var authenticationContexts: [String]
}
