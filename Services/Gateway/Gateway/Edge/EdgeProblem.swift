import Foundation
import HTTPTypes
import Hummingbird
import RampartCore

/// An answer the edge gives itself: an RFC 9457 problem document with a stable code.
public struct EdgeProblem: Error, Sendable {
    public let status: HTTPResponse.Status
    public let code: String
    public let title: String
    public let detail: String?
    public let headers: HTTPFields

    public init(_ status: HTTPResponse.Status, code: String, title: String, detail: String? = nil, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.headers = headers
    }

    /// The problem document, for the request `requestID`.
    public func document(requestID: String) -> ByteBuffer {
        let problem = ProblemDetails(status: status.code, code: code, title: title, detail: detail, instance: "urn:rampart:request:\(requestID)")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return ByteBuffer(bytes: (try? encoder.encode(problem)) ?? Data(#"{"status":500}"#.utf8))
    }

    /// The response, for the request `requestID`.
    public func response(requestID: String) -> Response {
        var fields = headers
        fields[.contentType] = ProblemDetails.mediaType
        fields[.cacheControl] = "no-store"
        return Response(status: status, headers: fields, body: .init(byteBuffer: document(requestID: requestID)))
    }

    static let csrfRejected = EdgeProblem(.forbidden, code: "csrf_token_invalid", title: "Missing or invalid CSRF token",
                                          detail: "Send the session's CSRF token in the X-CSRF-Token header.")
    static let notFound = EdgeProblem(.notFound, code: "not_found", title: "Not found")
    static let misdirected = EdgeProblem(.misdirectedRequest, code: "misdirected_request", title: "Misdirected request",
                                         detail: "The TLS server name and the Host header name different hosts.")
    static let badRequest = EdgeProblem(.badRequest, code: "bad_request", title: "Bad request")
    static let ambiguousSignIn = EdgeProblem(.badRequest, code: "bad_request", title: "Bad request",
                                             detail: "A sign-in request names its account once.")
    static let badPath = EdgeProblem(.badRequest, code: "bad_path", title: "Malformed path")
    static let bodyTooLarge = EdgeProblem(.contentTooLarge, code: "body_too_large", title: "Request body too large")
    static let malformedBody = EdgeProblem(.badRequest, code: "malformed_body", title: "Malformed request body",
                                           detail: "The body is not well-formed multipart/form-data.")
    static let headersTooLarge = EdgeProblem(.requestHeaderFieldsTooLarge, code: "headers_too_large", title: "Request headers too large")
    static let upstreamUnreachable = EdgeProblem(.badGateway, code: "upstream_unreachable", title: "Service unreachable",
                                                 detail: "The service behind this route could not be reached; try again shortly.")
    static let upstreamFailed = EdgeProblem(.badGateway, code: "upstream_failed", title: "Bad gateway")
    static let upstreamTimeout = EdgeProblem(.gatewayTimeout, code: "upstream_timeout", title: "Service timed out")
    static let serviceUnavailable = EdgeProblem(.serviceUnavailable, code: "service_unavailable", title: "Service unavailable",
                                                detail: "This service is not available in this region right now.")
    static let authenticationUnavailable = EdgeProblem(.serviceUnavailable, code: "authentication_unavailable", title: "Authentication unavailable",
                                                       detail: "Credentials cannot be checked right now; try again shortly.", headers: [.retryAfter: "5"])

    /// 401 for a protected route: no credential, or one identity refused.
    static func unauthorized(invalid: Bool) -> EdgeProblem {
        EdgeProblem(.unauthorized, code: invalid ? "credential_refused" : "authentication_required",
                    title: invalid ? "Credential refused" : "Authentication required",
                    headers: [.wwwAuthenticate: invalid ? #"Bearer realm="rampart", error="invalid_token""# : #"Bearer realm="rampart""#])
    }
}
