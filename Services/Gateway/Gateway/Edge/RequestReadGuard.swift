import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOHTTPTypes
import NIOHTTPTypesHTTP2

/// Time and size limits of a public HTTP/1.1 connection or HTTP/2 stream, and clean answers to
/// unparseable requests.
///
/// - from connection start (TLS handshake included) to a complete request head: `headerRead`;
/// - between two pieces of a request body: `bodyRead`; and the body as a whole at no less than
///   `minimumBodyRate` bytes a second after a first `bodyRead` of grace — a body still arriving
///   after the edge has answered (an early 404, say) included;
/// - a kept-alive connection waiting for its next request (and that request's head): `idle`,
///   from when both the response and the request have ended;
/// - a response the client takes nothing more of (the channel stays unwritable): `write`;
/// - HTTP/2 streams open at once on one connection: `maxConcurrentStreams` (a stream beyond it
///   is reset before it is read).
///
/// Past a limit the connection is closed: a client sending one byte a second is cut off. A head
/// the decoder refuses (too many or too large headers, malformed syntax) is answered 431 or 400
/// with the security headers and a request id, then the connection is closed.
final class RequestReadGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    struct Limits: Sendable {
        var headerRead: TimeAmount
        var bodyRead: TimeAmount
        var idle: TimeAmount
        var write: TimeAmount
        /// Bytes a second a request body must average, after the first `bodyRead`.
        var minimumBodyRate: Int
        var maxConcurrentStreams: Int
        /// Enforced here for HTTP/2 streams; HTTP/1.1's decoder enforces them before a head exists.
        var maxHeaderCount: Int
        var maxHeaderBytes: Int
    }

    let limits: Limits
    private let logger: Logger
    /// Closes the connection when what it waits for (`waitingFor`) does not come in time.
    private var deadline: MovingDeadline?
    private var waitingFor = ""
    /// Runs while the channel is unwritable: the client has stopped taking the response.
    private var writeTimer: Scheduled<Void>?
    private var answeredError = false
    /// The current request's head has arrived and its end has not.
    private var requestOpen = false
    /// The current request's response has been written to its end.
    private var responseEnded = false
    /// When the current request's body began, and how many bytes of it have arrived.
    private var bodyStarted = NIODeadline.now()
    private var bodyBytes = 0
    /// The connection's guard; `isStream` when this handler serves an HTTP/2 stream of it.
    private var connection: ConnectionGuard?
    private var isStream = false

    init(limits: Limits, logger: Logger) {
        self.limits = limits
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        deadline = MovingDeadline(on: context.eventLoop) { [weak self] in
            guard let self else { return }
            logger.info("edge.connection.timeout", metadata: ["reason": "\(waitingFor)"])
            context.channel.close(promise: nil)
        }
        if let own = try? context.pipeline.syncOperations.handler(type: ConnectionGuard.self) {
            connection = own
        } else if let parent = context.channel.parent, parent.eventLoop.inEventLoop {
            connection = try? parent.pipeline.syncOperations.handler(type: ConnectionGuard.self)
            isStream = connection != nil
            if let connection, !connection.streamOpened(on: parent, maximum: limits.maxConcurrentStreams) {
                refuseStream(context)
                return
            }
        }
        if context.channel.isActive { arm(limits.headerRead, reason: "header_read") }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(limits.headerRead, reason: "header_read")
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.stop()
        disarmWrite()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.stop()
        disarmWrite()
        if isStream {
            connection?.streamClosed()
            isStream = false
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            disarmWrite()
        } else if writeTimer == nil {
            let logger = logger
            let channel = context.channel
            writeTimer = context.eventLoop.scheduleTask(in: limits.write) {
                logger.info("edge.connection.timeout", metadata: ["reason": "write"])
                channel.close(promise: nil)
            }
        }
        context.fireChannelWritabilityChanged()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // After an answer of our own, the rest of that request is dropped until the close.
        guard !answeredError else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            connection?.requestStarted()
            requestOpen = true
            responseEnded = false
            let bytes = head.headerFields.reduce(0) { $0 + $1.name.rawName.utf8.count + $1.value.utf8.count + 4 }
            if head.headerFields.count > limits.maxHeaderCount || bytes > limits.maxHeaderBytes {
                answer(context, .headersTooLarge, reason: "headers_too_large")
                return
            }
            // Until the request's end arrives, body pieces may not pause longer than the body-read
            // timeout (HTTP/2 bodies need no length). An HTTP/1.1 request without a length or
            // chunking has no body: its end follows at once.
            if isStream || head.headerFields[.contentLength] != nil || head.headerFields[.transferEncoding] != nil {
                bodyStarted = .now()
                bodyBytes = 0
                armBodyRead()
            } else {
                disarm()
            }
        case .body(let piece):
            bodyBytes += piece.readableBytes
            armBodyRead()
        case .end:
            requestOpen = false
            // Answered already (before the body ended): the exchange is over now.
            if responseEnded { exchangeEnded() } else { disarm() }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // (A response that ends its connection, such as the edge's 413, is closed after by
        // `EdgeHTTP1Handler`, which also stops processing what the client sent after it.)
        if case .end = unwrapOutboundIn(data) {
            responseEnded = true
            // A request body still arriving keeps its own deadlines; it has to end, too.
            if !requestOpen { exchangeEnded() }
        }
        context.write(data, promise: promise)
    }

    /// The response and the request have both ended. An HTTP/2 stream is done (the connection's
    /// idle timeout takes over); an HTTP/1.1 connection waits for its next request. (The response
    /// is complete: its body was written before its end, the rest of it is below the channel's
    /// high-water mark, and a client that stops taking it meets the write timeout.)
    private func exchangeEnded() {
        if isStream { disarm() } else { arm(limits.idle, reason: "idle") }
    }

    /// The body's next piece is due within `bodyRead`, and the body as a whole may not fall below
    /// the minimum rate once its first `bodyRead` has passed.
    private func armBodyRead() {
        let pause = NIODeadline.now() + limits.bodyRead
        let rate = bodyStarted + limits.bodyRead + .milliseconds(Int64(bodyBytes) * 1000 / Int64(max(1, limits.minimumBodyRate)))
        waitingFor = rate < pause ? "body_rate" : "body_read"
        deadline?.move(to: min(pause, rate))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parseError = error as? HTTPParserError, !answeredError else {
            context.fireErrorCaught(error)
            return
        }
        let tooLarge = parseError == .headerOverflow
        answer(context, tooLarge ? .headersTooLarge : .badRequest, reason: tooLarge ? "headers_too_large" : "malformed")
    }

    /// Answers `problem` with the security headers and closes (the connection, or the HTTP/2 stream).
    private func answer(_ context: ChannelHandlerContext, _ problem: EdgeProblem, reason: String) {
        guard !answeredError else { return }
        answeredError = true
        disarm()
        logger.info("edge.request.refused", metadata: ["reason": "\(reason)"])
        let requestID = EdgeRequestID.make()
        let body = problem.document(requestID: requestID)
        var head = HTTPResponse(status: problem.status, headerFields: problem.headers)
        head.headerFields[.contentType] = "application/problem+json"
        ResponseHygiene.apply(to: &head.headerFields, requestID: requestID)
        if !isStream { head.headerFields[.connection] = "close" }
        head.headerFields[.contentLength] = String(body.readableBytes)
        let channel = context.channel
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
        // The request is over: whoever was answering it must not write a second response.
        context.fireUserInboundEventTriggered(Answered())
    }

    /// Sent on after the guard answered a request itself: nothing more may be written to it.
    struct Answered {}

    /// Resets an HTTP/2 stream beyond the connection's limit with REFUSED_STREAM, which tells the
    /// client nothing was processed and it may retry (RFC 9113 §8.7); nothing of it is read.
    private func refuseStream(_ context: ChannelHandlerContext) {
        answeredError = true
        logger.info("edge.request.refused", metadata: ["reason": "max_concurrent_streams"])
        let channel = context.channel
        // Written from the HTTP/2 codec's place in the stream's pipeline, where frames are understood.
        if let codec = try? context.pipeline.syncOperations.context(handlerType: HTTP2FramePayloadToHTTPServerCodec.self) {
            codec.writeAndFlush(NIOAny(HTTP2Frame.FramePayload.rstStream(.refusedStream)), promise: nil)
        }
        channel.eventLoop.execute { channel.close(promise: nil) }
    }

    private func arm(_ timeout: TimeAmount, reason: String) {
        waitingFor = reason
        deadline?.move(by: timeout)
    }

    /// The connection waits for nothing now.
    private func disarm() {
        deadline?.clear()
    }

    private func disarmWrite() {
        writeTimer?.cancel()
        writeTimer = nil
    }
}
