/// A property of a request that a limit can be keyed by.
public enum RateLimitDimension: String, Sendable, Codable, CaseIterable {
    /// The client's address as the edge saw it.
    case clientIP = "client_ip"
    /// The tenant slug from the host.
    case tenant
    /// The API key or OAuth client id.
    case credential
    /// The route class from routing.
    case routeClass = "route_class"
    /// The account a sign-in attempt names.
    case account
}
