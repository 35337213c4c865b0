import AsyncHTTPClient
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import RampartCore
import RampartTransport

/// Forwards a public request to one service instance over mutual TLS (a pooled keep-alive
/// client) and streams the answer back; failures become 502/503/504 problems.
public struct EdgeProxy: Sendable {
    let responseTimeout: TimeAmount
    let logger: Logger

    /// A request body as the edge holds it.
    enum Body: Sendable {
        case none
        /// Read whole (and inspected).
        case buffered(ByteBuffer)
        /// Streamed to the upstream, failing with 413 past `limit`.
        case streamed(RequestBody, length: Int?, limit: Int)

        /// What inspection gets to see.
        var inspectable: ByteBuffer? {
            if case .buffered(let buffer) = self { return buffer }
            return nil
        }

        /// Whether the body can be sent again (to another instance): it is not a stream.
        var isReplayable: Bool {
            if case .streamed = self { return false }
            return true
        }
    }

    func forward(
        _ request: Request, body: Body, route: EdgePolicy.Route, to target: UpstreamTarget, authority: String,
        clientIP: String?, requestID: String, principal: String?
    ) async throws -> Response {
        var outbound = HTTPClientRequest(url: target.baseURL + (request.head.path ?? "/"))
        outbound.method = HTTPMethod(rawValue: request.method.rawValue)
        for (name, value) in ForwardedHeaders.upstreamRequest(
            from: request.headers, authority: authority, clientIP: clientIP, requestID: requestID,
            principal: principal, forwardAuthorization: route.forwardAuthorization == true
        ) {
            outbound.headers.add(name: name, value: value)
        }
        switch body {
        case .none:
            break
        case .buffered(let buffer):
            outbound.body = .bytes(buffer)
        case .streamed(let stream, let length, let limit):
            outbound.body = .stream(BoundedBody(base: stream, limit: limit), length: length.map { .known(Int64($0)) } ?? .unknown)
        }

        let response: HTTPClientResponse
        do {
            response = try await target.client.http.execute(outbound, timeout: responseTimeout)
        } catch let problem as EdgeProblem {
            throw problem
        } catch {
            throw problem(for: error, service: target.service, region: target.region)
        }
        var headers = ForwardedHeaders.clientResponse(from: response.headers.map { ($0.name, $0.value) })
        headers[.cacheControl] = headers[.cacheControl] ?? "no-store"
        let length = response.headers.first(name: "content-length").flatMap { Int($0) }
        let upstreamBody = response.body
        let isHead = request.method == .head
        return Response(
            status: HTTPResponse.Status(code: Int(response.status.code), reasonPhrase: response.status.reasonPhrase),
            headers: headers,
            body: ResponseBody(contentLength: isHead ? nil : length) { writer in
                if !isHead { try await writer.write(upstreamBody) }
                try await writer.finish(nil)
            }
        )
    }

    /// 504 when the service took too long, 502 when it could not be reached or broke off.
    private func problem(for error: any Error, service: ServiceName, region: Region) -> EdgeProblem {
        let metadata: Logger.Metadata = ["service": "\(service)", "upstream.region": "\(region)", "error.type": "\(type(of: error))"]
        if let client = error as? HTTPClientError {
            switch client {
            case .deadlineExceeded, .readTimeout:
                logger.warning("edge.upstream.timeout", metadata: metadata)
                return .upstreamTimeout
            case .connectTimeout, .remoteConnectionClosed, .getConnectionFromPoolTimeout, .tlsHandshakeTimeout:
                logger.warning("edge.upstream.unreachable", metadata: metadata)
                return .upstreamUnreachable
            default:
                break
            }
        }
        if error is NIOConnectionError || error is ChannelError || (error as? IOError) != nil {
            logger.warning("edge.upstream.unreachable", metadata: metadata)
            return .upstreamUnreachable
        }
        logger.warning("edge.upstream.failed", metadata: metadata)
        return .upstreamFailed
    }
}
