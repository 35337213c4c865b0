import Hummingbird
import RampartCore

/// The plain-HTTP listener: every request to a host the edge serves is redirected (308, method
/// and body kept) to the same path over HTTPS; nothing is ever served or forwarded in clear text.
public struct HTTPSRedirect: HTTPResponder {
    public typealias Context = EdgeRequestContext

    let baseDomain: String
    let regions: [Region]
    let httpsPort: Int
    let accessLog: AccessLog

    public func respond(to request: Request, context: Context) async throws -> Response {
        let start = ContinuousClock.now
        let requestID = EdgeRequestID.accept(request.headers[.requestID])
        var entry = AccessLog.Entry(
            requestID: requestID, clientIP: context.clientIP, host: request.head.authority, method: request.method.rawValue,
            route: "https_redirect", status: 0, bytes: 0, duration: .zero
        )
        var response: Response
        let target = request.head.path ?? "/"
        if let authority = request.head.authority, let name = EdgeHost.name(of: authority),
           name == baseDomain || EdgeHost(host: name, baseDomain: baseDomain, regions: regions) != nil,
           target.hasPrefix("/"), target.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F })
        {
            let port = httpsPort == 443 ? "" : ":\(httpsPort)"
            response = Response(status: .permanentRedirect, headers: [.location: "https://\(name)\(port)\(target)", .contentLength: "0"])
        } else {
            response = EdgeProblem.notFound.response(requestID: requestID)
        }
        ResponseHygiene.apply(to: &response.headers, requestID: requestID, https: false)
        entry.status = response.status.code
        return EdgeResponder.loggingWhenWritten(response, entry: entry, start: start, accessLog: accessLog)
    }
}
