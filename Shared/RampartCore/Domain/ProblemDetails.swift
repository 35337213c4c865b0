/// An RFC 9457 problem document: the one error shape every Rampart API answers with.
public struct ProblemDetails: Codable, Sendable, Equatable {
    /// A URI naming the kind of problem; stable, machine-readable.
    public var type: String
    /// A short human summary of the kind of problem.
    public var title: String
    /// The HTTP status code.
    public var status: Int
    /// What went wrong with this request, for a human; never secrets or internals.
    public var detail: String?
    /// The request id, so support can find the log line.
    public var instance: String?
    /// A stable machine-readable code, for example `caller_not_allowed`.
    public var code: String
    /// Field-level messages for invalid input.
    public var errors: [FieldError]?

    /// One invalid field and what is wrong with it.
    public struct FieldError: Codable, Sendable, Equatable {
        public var field: String
        public var message: String

        public init(field: String, message: String) {
            self.field = field
            self.message = message
        }
    }

    public init(status: Int, code: String, title: String, detail: String? = nil, instance: String? = nil, errors: [FieldError]? = nil) {
        self.type = "https://rampart.dev/problems/\(code.replacingOccurrences(of: "_", with: "-"))"
        self.title = title
        self.status = status
        self.detail = detail
        self.instance = instance
        self.code = code
        self.errors = errors
    }

    /// The media type of a problem document.
    public static let mediaType = "application/problem+json"
}
