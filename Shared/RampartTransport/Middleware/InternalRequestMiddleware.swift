import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOSSL
import PostgresNIO
import RampartCore
import RampartSecurity
import X509

/// The pipeline every internal request passes, in order: request id → caller identity from the
/// client certificate → allow-list → forwarded principal → handler → one JSON log line and
/// metrics. Errors leave it as problem documents; unexpected ones as an opaque 500.
public struct InternalRequestMiddleware: RouterMiddleware {
    public typealias Context = ServiceRequestContext

    public let service: ServiceName
    public let region: Region
    public let allowList: AllowList
    public let verifier: PrincipalVerifier
    public let metrics: RequestMetrics

    public init(service: ServiceName, region: Region, allowList: AllowList, verifier: PrincipalVerifier, metrics: RequestMetrics) {
        self.service = service
        self.region = region
        self.allowList = allowList
        self.verifier = verifier
        self.metrics = metrics
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let start = ContinuousClock.now
        context.requestID = Self.acceptableRequestID(request.headers[.requestID]) ?? UUID().uuidString.lowercased()
        context.logger[metadataKey: "request.id"] = .string(context.requestID)

        var response: Response
        do {
            try await admit(request, context: &context)
            response = try await next(request, context)
        } catch let problem as ProblemError {
            response = problem.response(requestID: context.requestID)
        } catch let error as any HTTPResponseError {
            let status = error.status
            response = ProblemError(status: status, code: Self.code(for: status), title: status.reasonPhrase).response(requestID: context.requestID)
        } catch {
            // Logged once with its type (and SQLSTATE): database error texts can carry SQL and data.
            var metadata: Logger.Metadata = ["error.type": "\(type(of: error))"]
            if let database = error as? PSQLError {
                metadata["db.error"] = "\(database.code)"
                metadata["db.sqlstate"] = "\(database.serverInfo?[.sqlState] ?? "none")"
            }
            context.logger.error("request.failed", metadata: metadata)
            response = ProblemError.internalError.response(requestID: context.requestID)
        }
        response.headers[.requestID] = context.requestID

        let route = context.endpointPath ?? "unmatched"
        let duration = start.duration(to: .now)
        metrics.record(method: request.method.rawValue, route: route, status: response.status.code, duration: duration)
        var metadata: Logger.Metadata = [
            "http.method": "\(request.method.rawValue)",
            "http.route": "\(route)",
            "http.status": "\(response.status.code)",
            "duration_ms": "\(Double(duration.components.attoseconds / 1_000_000_000_000) / 1000 + Double(duration.components.seconds) * 1000)",
        ]
        if let caller = context.caller { metadata["caller"] = "\(caller)" }
        if let principal = context.principal { metadata["tenant.id"] = "\(principal.tenantID)" }
        context.logger.info("request.completed", metadata: metadata)
        return response
    }

    /// Identifies the caller, applies the allow-list and verifies a forwarded principal.
    private func admit(_ request: Request, context: inout Context) async throws {
        let path = request.uri.path
        guard Self.isCanonical(path: path) else {
            throw ProblemError(status: .badRequest, code: "bad_path", title: "Malformed path")
        }
        guard let caller = await Self.caller(of: context.channel) else {
            metrics.recordRefusal(reason: "no_identity")
            throw ProblemError(status: .forbidden, code: "caller_unknown", title: "Caller not identified")
        }
        context.caller = caller
        guard allowList.allows(caller, method: request.method.rawValue, path: path, service: service, region: region) else {
            metrics.recordRefusal(reason: "not_allowed")
            context.logger.warning("caller.refused", metadata: ["caller": "\(caller)", "http.path": "\(path)", "http.method": "\(request.method.rawValue)"])
            throw ProblemError(status: .forbidden, code: "caller_not_allowed", title: "Caller not allowed", detail: "This caller may not call this route.")
        }
        if let token = request.headers[.rampartPrincipal] {
            do {
                context.principal = try verifier.verify(token)
            } catch {
                metrics.recordRefusal(reason: "bad_principal")
                context.logger.warning("principal.refused", metadata: ["caller": "\(caller)", "reason": "\(error)"])
                throw ProblemError(status: .unauthorized, code: "principal_invalid", title: "Principal refused", detail: "The forwarded principal is not valid for this service.")
            }
        }
    }

    /// The identity in the connection's verified client certificate, if any.
    static func caller(of channel: any Channel) async -> CallerIdentity? {
        guard let peer = try? await channel.nioSSL_peerCertificate().get(),
              let bytes = try? peer.toDERBytes(),
              let certificate = try? Certificate(derEncoded: bytes)
        else { return nil }
        return CallerIdentity(certificate: certificate)
    }

    /// Paths with dot segments, empty segments, encoded separators or backslashes are refused
    /// before routing, so allow-list prefixes cannot be sidestepped.
    static func isCanonical(path: String) -> Bool {
        guard path.hasPrefix("/"), path.utf8.count <= 2048 else { return false }
        let lowered = path.lowercased()
        for needle in ["//", "\\", "%2e", "%2f", "%5c", "%00"] where lowered.contains(needle) { return false }
        return !path.split(separator: "/", omittingEmptySubsequences: false).contains { $0 == "." || $0 == ".." }
    }

    /// A client-supplied request id is kept only if it is short and plain.
    static func acceptableRequestID(_ value: String?) -> String? {
        guard let value, (8...64).contains(value.utf8.count),
              value.utf8.allSatisfy({ byte in
                  (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                      || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
              })
        else { return nil }
        return value
    }

    /// Stable codes for statuses raised by the framework itself.
    static func code(for status: HTTPResponse.Status) -> String {
        switch status.code {
        case 400: "bad_request"
        case 404: "not_found"
        case 405: "method_not_allowed"
        case 413: "body_too_large"
        case 415: "unsupported_media_type"
        case 422: "invalid_input"
        default: status.code >= 500 ? "internal_error" : "request_refused"
        }
    }
}
