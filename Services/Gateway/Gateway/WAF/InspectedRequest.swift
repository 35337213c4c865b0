import RampartCore

/// What the WAF sees of one request: raw, as received; the WAF does its own decoding.
public struct InspectedRequest: Sendable {
    /// The request method, as sent.
    public var method: String
    /// The path as received, still percent-encoded, without the query.
    public var rawPath: String
    /// The query as received (after `?`, still percent-encoded), if any.
    public var rawQuery: String?
    /// Header fields in arrival order, duplicates kept (smuggling checks need them).
    public var headers: [(name: String, value: String)]
    /// A bounded prefix of the body, if the request has one.
    public var body: ArraySlice<UInt8>?
    /// Whether `body` is only a prefix of a longer body (a cut-off JSON document is then not an error).
    public var bodyIsTruncated: Bool
    /// The tenant slug from the host, for per-tenant policy.
    public var tenant: String?
    /// The route class from routing (`api`, `sign_in`, …), for logs and exclusions.
    public var routeClass: String?

    /// A request as the edge received it.
    public init(
        method: String, rawPath: String, rawQuery: String? = nil, headers: [(name: String, value: String)] = [],
        body: ArraySlice<UInt8>? = nil, bodyIsTruncated: Bool = false, tenant: String? = nil, routeClass: String? = nil
    ) {
        self.method = method
        self.rawPath = rawPath
        self.rawQuery = rawQuery
        self.headers = headers
        self.body = body
        self.bodyIsTruncated = bodyIsTruncated
        self.tenant = tenant
        self.routeClass = routeClass
    }

    /// The first value of the header `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveEquals(name) }?.value
    }

    /// The media type of `Content-Type`, lowercased, without parameters.
    var mediaType: String? {
        MediaType.of(header("content-type"))
    }
}

extension StringProtocol {
    /// ASCII case-insensitive equality, without allocating.
    func caseInsensitiveEquals(_ other: String) -> Bool {
        var lhs = utf8.makeIterator()
        var rhs = other.utf8.makeIterator()
        while true {
            switch (lhs.next(), rhs.next()) {
            case (nil, nil): return true
            case let (left?, right?) where ASCII.lower(left) == ASCII.lower(right): continue
            default: return false
            }
        }
    }
}
