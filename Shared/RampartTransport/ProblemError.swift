import Foundation
import HTTPTypes
import Hummingbird
import RampartCore

/// An error that answers as an RFC 9457 problem document with a stable code.
public struct ProblemError: Error, HTTPResponseError, Sendable {
    public let status: HTTPResponse.Status
    public let code: String
    public let title: String
    public let detail: String?
    public let fieldErrors: [ProblemDetails.FieldError]?
    /// Extra response headers, for example `WWW-Authenticate`.
    public let headers: HTTPFields

    public init(status: HTTPResponse.Status, code: String, title: String, detail: String? = nil, fieldErrors: [ProblemDetails.FieldError]? = nil, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.fieldErrors = fieldErrors
        self.headers = headers
    }

    /// The problem document for a request with id `requestID`.
    public func problem(requestID: String?) -> ProblemDetails {
        ProblemDetails(status: status.code, code: code, title: title, detail: detail, instance: requestID.map { "urn:rampart:request:\($0)" }, errors: fieldErrors)
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        response(requestID: request.headers[.requestID])
    }

    /// The response carrying this problem.
    public func response(requestID: String?) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body = (try? encoder.encode(problem(requestID: requestID))) ?? Data(#"{"status":500}"#.utf8)
        var fields = headers
        fields[.contentType] = ProblemDetails.mediaType
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// The opaque answer to an unexpected error: no detail, only the request id.
    public static let internalError = ProblemError(status: .internalServerError, code: "internal_error", title: "Internal error", detail: "The error was logged; quote the request id when reporting it.")
}

extension HTTPField.Name {
    /// `X-Request-Id`: set by the gateway, echoed by every service.
    public static let requestID = HTTPField.Name("X-Request-Id")!
    /// `X-Rampart-Principal`: the signed principal the gateway forwards.
    public static let rampartPrincipal = HTTPField.Name("X-Rampart-Principal")!
}
