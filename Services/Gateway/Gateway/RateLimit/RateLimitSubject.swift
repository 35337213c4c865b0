/// What the rate limiter knows of one request: the values limits can be keyed by.
public struct RateLimitSubject: Sendable {
    /// The client's address as the edge saw it (never a client-supplied forwarding header).
    public var clientIP: String
    /// The tenant slug from the host, when there is one.
    public var tenant: String?
    /// The API key id or OAuth client id presenting the request, when there is one.
    public var credential: String?
    /// The route class from routing, for example `api`, `sign_in`, `search`, `export`.
    public var routeClass: String
    /// For sign-in attempts, the account being signed in to (lowercased login name).
    public var account: String?
    /// For a request authenticated as a principal of the host's tenant: its tenant id and subject.
    public var principal: String?

    /// A subject with the given values.
    public init(clientIP: String, tenant: String? = nil, credential: String? = nil, routeClass: String, account: String? = nil,
                principal: String? = nil) {
        self.clientIP = clientIP
        self.tenant = tenant
        self.credential = credential
        self.routeClass = routeClass
        self.account = account
        self.principal = principal
    }

    /// This subject's value for `dimension`, or nil when it has none.
    func value(of dimension: RateLimitDimension) -> String? {
        switch dimension {
        case .clientIP: clientIP
        case .tenant: tenant
        case .credential: credential
        case .routeClass: routeClass
        case .account: account
        case .principal: principal
        }
    }
}
