/// A property of a request that a limit can be keyed by.
public enum RateLimitDimension: String, Sendable, Codable, CaseIterable {
    /// The client's address as the edge saw it.
    case clientIP = "client_ip"
    /// The tenant slug from the host.
    case tenant
    /// The API key or OAuth client id.
    case credential
    /// Whom the request is authenticated as within its tenant (a user, whichever session, token or
    /// key of theirs it came with; an API key; an OAuth client), as identity resolved it.
    case principal
    /// The route class from routing.
    case routeClass = "route_class"
    /// The account a sign-in attempt names.
    case account
}
