import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import RampartCore
import RampartTransport

/// Forwards a public request to one service instance over mutual TLS (a kept-alive connection
/// of ``UpstreamPool``) and streams the answer back; failures become 502/503/504 problems.
public struct EdgeProxy: Sendable {
    let responseTimeout: TimeAmount
    let logger: Logger

    /// A request body as the edge holds it.
    enum Body: Sendable {
        case none
        /// Read whole (and inspected).
        case buffered(ByteBuffer)
        /// Streamed to the upstream after `head` (read first, for inspection), failing with 413
        /// past `limit` in all.
        case streamed(RequestBody, head: ByteBuffer?, length: Int?, limit: Int)

        /// What inspection gets to see: the whole body, or the head of a streamed one.
        var inspectable: ByteBuffer? {
            switch self {
            case .buffered(let buffer): buffer
            case .streamed(_, let head, _, _): head
            case .none: nil
            }
        }

        /// Whether inspection sees only the beginning of the body.
        var isTruncated: Bool {
            if case .streamed(_, _?, _, _) = self { return true }
            return false
        }

        /// Whether the body can be sent again (to another instance): it is not a stream.
        var isReplayable: Bool {
            if case .streamed = self { return false }
            return true
        }
    }

    /// A response body up to this size (by its `Content-Length`) is read whole before the client
    /// is answered, in one write; a larger one, or one of unknown length, is streamed.
    static let heldWholeBytes = 64 * 1024

    /// What the edge answers with: `isStreamed` when the body still comes from the service as
    /// the client takes it (its access-log line waits for the end), otherwise it is held whole.
    struct Answer {
        var response: Response
        var isStreamed = false
    }

    /// Sends the request on a pooled connection of `eventLoop` (the client connection's) and
    /// answers with the service's response: held whole when it is small (``heldWholeBytes``),
    /// else its body streamed as the client takes it. A service that breaks off a held response
    /// is a 502 (`upstream_failed`), one that stalls in it a 504.
    func forward(
        _ request: Request, body: Body, route: EdgePolicy.Route, to target: UpstreamTarget, authority: String,
        clientIP: String?, requestID: String, principal: String?, on eventLoop: any EventLoop
    ) async throws -> Answer {
        let forwarded = ForwardedHeaders.upstreamRequest(
            from: request.headers, authority: authority, clientIP: clientIP, requestID: requestID,
            principal: principal, forwardAuthorization: route.forwardAuthorization == true
        )
        var headers = HTTPHeaders()
        headers.reserveCapacity(forwarded.count + 2)
        headers.add(name: "Host", value: target.address.authority)
        for (name, value) in forwarded { headers.add(name: name, value: value) }
        let method = HTTPMethod(rawValue: request.method.rawValue)
        switch body {
        case .none:
            if Self.expectsBody(method) { headers.add(name: "Content-Length", value: "0") }
        case .buffered(let buffer):
            headers.add(name: "Content-Length", value: String(buffer.readableBytes))
        case .streamed(_, _, let length?, _):
            headers.add(name: "Content-Length", value: String(length))
        case .streamed(_, _, nil, _):
            headers.add(name: "Transfer-Encoding", value: "chunked")
        }
        let head = HTTPRequestHead(version: .http1_1, method: method, uri: request.head.path ?? "/", headers: headers)

        let response: HTTPResponseHead
        let exchange: UpstreamExchange
        do {
            let connection = if let idle = target.pool.idleConnection(to: target.address, on: eventLoop) {
                idle
            } else {
                try await target.pool.connection(to: target.address, on: eventLoop).get()
            }
            exchange = UpstreamExchange(eventLoop: connection.channel.eventLoop, timeout: responseTimeout)
            switch body {
            case .none:
                connection.send(head, body: nil, complete: true, exchange: exchange)
            case .buffered(let buffer):
                connection.send(head, body: buffer, complete: true, exchange: exchange)
            case .streamed(let stream, let start, _, let limit):
                connection.send(head, body: nil, complete: false, exchange: exchange)
                do {
                    if let start { try await connection.sendBodyPart(start).get() }
                    for try await part in BoundedBody(base: stream, limit: limit - (start?.readableBytes ?? 0)) { try await connection.sendBodyPart(part).get() }
                } catch {
                    let failure = await exchange.failure()
                    exchange.abandon()
                    throw failure ?? error
                }
                connection.sendEnd()
            }
            response = try await exchange.responseHead()
        } catch let problem as EdgeProblem {
            throw problem
        } catch {
            throw problem(for: error, service: target.service, region: target.region)
        }
        var responseHeaders = ForwardedHeaders.clientResponse(from: response.headers)
        responseHeaders[.cacheControl] = responseHeaders[.cacheControl] ?? "no-store"
        let length = response.headers.first(name: "content-length").flatMap { Int($0) }
        let isHead = request.method == .head
        let status = HTTPResponse.Status(code: Int(response.status.code), reasonPhrase: response.status.reasonPhrase)
        let reader = UpstreamBodyReader(exchange: exchange)
        // (204 and 304 have no body whatever their length says: they keep the streamed path's headers.)
        if !isHead, status != .noContent, status != .notModified, let length, length <= Self.heldWholeBytes {
            do {
                let whole = try await reader.rest()
                return Answer(response: Response(status: status, headers: responseHeaders, body: ResponseBody(byteBuffer: whole)))
            } catch {
                reader.abandon()
                throw problemAfterHead(for: error, service: target.service, region: target.region)
            }
        }
        return Answer(response: Response(
            status: status,
            headers: responseHeaders,
            body: ResponseBody(contentLength: isHead ? nil : length) { writer in
                do {
                    while let part = try await reader.next() { try await writer.write(part) }
                } catch {
                    reader.abandon()
                    throw error
                }
                try await writer.finish(nil)
            }
        ), isStreamed: true)
    }

    /// Methods whose requests carry a body by definition: one without gets `Content-Length: 0`.
    private static func expectsBody(_ method: HTTPMethod) -> Bool {
        ![.GET, .HEAD, .DELETE, .OPTIONS, .TRACE, .CONNECT].contains(method)
    }

    /// A held response the service broke off after its head: 504 when it stalled, else 502
    /// `upstream_failed` — never `upstream_unreachable`, which says nothing reached the service
    /// and lets the status page's failover send the request on to another instance.
    func problemAfterHead(for error: any Error, service: ServiceName, region: Region) -> EdgeProblem {
        if case .timeout? = error as? UpstreamError { return problem(for: error, service: service, region: region) }
        logger.warning("edge.upstream.failed", metadata: ["service": "\(service)", "upstream.region": "\(region)", "error.type": "\(type(of: error))"])
        return .upstreamFailed
    }

    /// 504 when the service took too long, 502 when it could not be reached or broke off.
    func problem(for error: any Error, service: ServiceName, region: Region) -> EdgeProblem {
        let metadata: Logger.Metadata = ["service": "\(service)", "upstream.region": "\(region)", "error.type": "\(type(of: error))"]
        switch error as? UpstreamError {
        case .timeout:
            logger.warning("edge.upstream.timeout", metadata: metadata)
            return .upstreamTimeout
        case .closed:
            logger.warning("edge.upstream.unreachable", metadata: metadata)
            return .upstreamUnreachable
        case .abandoned, nil:
            break
        }
        if error is NIOConnectionError || error is ChannelError || (error as? IOError) != nil {
            logger.warning("edge.upstream.unreachable", metadata: metadata)
            return .upstreamUnreachable
        }
        logger.warning("edge.upstream.failed", metadata: metadata)
        return .upstreamFailed
    }
}

/// The response body's reader: a response the client never took (its body never written, or
/// cut off) is abandoned, so its connection does not stay half-read.
final class UpstreamBodyReader: Sendable {
    private let exchange: UpstreamExchange

    init(exchange: UpstreamExchange) {
        self.exchange = exchange
    }

    func next() async throws -> ByteBuffer? {
        try await exchange.next()
    }

    func rest() async throws -> ByteBuffer {
        try await exchange.rest()
    }

    func abandon() {
        exchange.abandon()
    }

    deinit {
        exchange.abandon()
    }
}
