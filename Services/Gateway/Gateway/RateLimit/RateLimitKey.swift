/// What one limit counts against: the configured limit's name and the request's values for that
/// limit's dimensions (for example `sign-in` and `203.0.113.7|ana@example.com`).
public struct RateLimitKey: Hashable, Sendable {
    /// The configured limit's name.
    public let limit: String
    /// The request's values for the limit's dimensions, joined.
    public let value: String

    /// A key for `limit` and `value`.
    public init(limit: String, value: String) {
        self.limit = limit
        self.value = value
    }
}
