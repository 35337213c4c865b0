import HTTPTypes
import NIOCore
import RampartCore

/// The one seam where request inspection (the WAF rule engine) and rate limiting plug into the
/// edge. The responder calls it once per request on a tenant or status host, after the head and
/// the bounded body have been read and before the credential is resolved or anything is
/// forwarded; and once more for a request authenticated for its tenant, before it is forwarded.
/// The gateway runs ``ShieldInspection`` (the WAF and the rate limits).
public protocol EdgeInspection: Sendable {
    /// Decides whether `request` may go on.
    func inspect(_ request: EdgeInspectionRequest) async -> InspectionVerdict

    /// Decides whether `request`, which ``inspect(_:)`` let go on and which has since been
    /// authenticated as a principal of its host's tenant, may go on: the tenant's own limits and
    /// the principal's, which anonymous requests must not spend, count it (``RateLimiter/Stage``).
    /// `principal` is whom identity resolved the credential to (``PrincipalCache/Answer/principal``).
    func admitAuthenticated(_ request: EdgeInspectionRequest, principal: String?) async -> InspectionVerdict

    /// Gives back what ``admitAuthenticated(_:principal:)`` counted of `request`: its service
    /// refused it to whoever asked (401, 403, 404), so it does not spend the tenant's allowance.
    func refundRefused(_ request: EdgeInspectionRequest, principal: String?) async
}

/// What inspection sees of a request.
public struct EdgeInspectionRequest: Sendable {
    public let requestID: String
    public let clientIP: String?
    public let host: EdgeHost
    public let method: HTTPRequest.Method
    /// Path and query as received (already checked to be canonical).
    public let target: String
    /// Every header as the client sent it, credentials included (inspection runs in-process).
    public let headers: HTTPFields
    /// The matched route.
    public let route: EdgePolicy.Route
    /// The whole body when its size class is inspectable (`limits.inspect_body_bytes`), the head
    /// of a multipart form that carries files (its fields, up to the first file); `nil` when the
    /// body streams past inspection or there is none.
    public let body: ByteBuffer?
    /// Whether `body` is only the beginning of the request's body.
    public let bodyIsTruncated: Bool

    public init(requestID: String, clientIP: String?, host: EdgeHost, method: HTTPRequest.Method, target: String, headers: HTTPFields,
                route: EdgePolicy.Route, body: ByteBuffer?, bodyIsTruncated: Bool = false) {
        self.requestID = requestID
        self.clientIP = clientIP
        self.host = host
        self.method = method
        self.target = target
        self.headers = headers
        self.route = route
        self.body = body
        self.bodyIsTruncated = bodyIsTruncated
    }
}

/// An inspection's decision, with what the access log records about it.
public struct InspectionVerdict: Sendable {
    /// `nil`: go on; otherwise the problem to answer with (403 from the WAF, 429 from the rate limiter).
    public let refusal: EdgeProblem?
    /// The anomaly score, once a WAF computes one.
    public let wafScore: Int?
    /// The rate-limit decision (`allowed`, `limited`, …), once a rate limiter makes one.
    public let rateLimit: String?

    public init(refusal: EdgeProblem? = nil, wafScore: Int? = nil, rateLimit: String? = nil) {
        self.refusal = refusal
        self.wafScore = wafScore
        self.rateLimit = rateLimit
    }

    /// Go on, with nothing decided.
    public static let pass = InspectionVerdict()
}
