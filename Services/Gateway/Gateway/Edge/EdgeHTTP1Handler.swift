import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes

/// Serves HTTP/1.1 requests of a public connection on the connection's event loop: each request
/// goes to the ``EdgeResponder`` in one task (which NIO's loops run, on this loop), and its
/// response is written straight to the channel — a response held whole in one flush.
///
/// This replaces Hummingbird's HTTP/1.1 server loop, whose async channel (an async sequence of
/// request parts and an async writer of response parts per connection) cost about as much CPU per
/// request as the rest of the proxy (docs/benchmarks.md). Before it in the pipeline: NIO's HTTP/1.1
/// codec and pipelining assistance (one request at a time reaches this handler), the HTTPTypes
/// codec and the ``RequestReadGuard`` (timeouts, header limits, answers to unparseable requests).
/// Graceful shutdown is NIO's pipelining handler's: idle connections close at once, busy ones
/// after their response.
final class EdgeHTTP1Handler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let responder: EdgeResponder
    private let logger: Logger
    private var context: ChannelHandlerContext?
    /// The body of the request being answered, until its end arrived: what the responder reads,
    /// or, once the response is written, the rest that is read and dropped.
    private var body: EdgeRequestBody?
    /// A read held back while the body's reader has enough waiting.
    private var readHeld = false
    /// The request asked for the connection to close after its response (or the client closed its side).
    private var closeAfterResponse = false
    /// A request is being answered.
    private var answering = false
    /// Responses may be written: the channel is open and the read guard has not answered itself.
    private var isWritable = true
    /// The last response has been written to a connection that closes after it: requests that
    /// still arrive (pipelined behind a `Connection: close`) are not processed (RFC 9112 §9.6).
    private var closing = false
    /// The connection's loop, also after the handler left the pipeline (writes then fail).
    private var eventLoop: (any EventLoop)?
    /// The connection's first handler (its SNI name) and the client's address, read once.
    private var connection: ConnectionGuard?
    private var clientIP: String?
    /// Where the connection's request tasks run: on its loop, without a trip through the loop's
    /// queue for each async call (``EventLoopTaskExecutor``).
    private var executor: EventLoopTaskExecutor?

    /// The `Date` header's form (RFC 9110 §5.6.7).
    static let httpDate = UTCSecondFormat("%a, %d %b %Y %H:%M:%S GMT")

    init(responder: EdgeResponder, logger: Logger) {
        self.responder = responder
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        eventLoop = context.eventLoop
        connection = try? context.pipeline.syncOperations.handler(type: ConnectionGuard.self)
        clientIP = context.channel.remoteAddress?.ipAddress
        executor = EventLoopTaskExecutor(context.eventLoop)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    // MARK: Requests

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing, isWritable else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            let body = EdgeRequestBody(eventLoop: context.eventLoop, resumeReading: NIOLoopBound(self, eventLoop: context.eventLoop))
            self.body = body
            closeAfterResponse = ForwardedHeaders.connectionListed(head.headerFields).contains("close")
            answering = true
            respond(to: Request(head: head, body: RequestBody(asyncSequence: body)), context: context)
        case .body(let part):
            body?.received(part)
        case .end:
            body?.receivedEnd()
            body = nil
        }
    }

    /// Hands the request to the responder in a task and writes what it answers.
    private func respond(to request: Request, context: ChannelHandlerContext) {
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        let requestContext = EdgeRequestContext(
            source: ApplicationRequestContextSource(channel: context.channel, logger: logger), clientIP: clientIP, serverName: connection?.serverName
        )
        let responder = responder
        let logger = logger
        let httpDate = Self.httpDate
        let executor = executor ?? EventLoopTaskExecutor(context.eventLoop)
        Task(executorPreference: executor) {
            // The executor outlives every job of the task (the task holds its preference too;
            // this does not depend on that).
            defer { withExtendedLifetime(executor) {} }
            var response: Response
            do {
                response = try await responder.respond(to: request, context: requestContext)
            } catch {
                logger.error("edge.request.failed", metadata: ["error.type": "\(type(of: error))"])
                response = Response(status: .internalServerError)
                ResponseHygiene.apply(to: &response.headers, requestID: EdgeRequestID.make())
            }
            response.headers[.date] = httpDate.text()
            // A body small enough to be held whole goes out with its end, in one flush; a larger
            // one (streamed from the service) is flushed piece by piece.
            let writer = EdgeResponseWriter(
                handler: handler, flushesEachPiece: (response.body.contentLength ?? .max) > EdgeProxy.heldWholeBytes
            )
            do {
                try await writer.head(response.head)
                try await response.body.write(writer)
            } catch {
                // The client went away, or the service broke off a streamed body: the response
                // cannot be completed, so the connection ends.
                await writer.close()
            }
        }
    }

    func read(context: ChannelHandlerContext) {
        if let body, !body.wantsMoreData {
            readHeld = true
        } else {
            context.read()
        }
    }

    /// Reads again after the body's reader took what was waiting.
    func resumeReading() {
        guard readHeld, let context else { return }
        readHeld = false
        context.read()
    }

    /// The client closed its side (the server's channels allow half-closure): the connection
    /// ends now, or after the response to the request it sent last. The read guard answered a
    /// request itself (a malformed body): nothing more is written, and the connection closes.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is RequestReadGuard.Answered {
            isWritable = false
            body?.fail(ChannelError.ioOnClosedChannel)
            body = nil
        } else if case ChannelEvent.inputClosed = event {
            if answering {
                closeAfterResponse = true
            } else {
                context.close(promise: nil)
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        isWritable = false
        body?.fail(ChannelError.ioOnClosedChannel)
        body = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        body?.fail(error)
        body = nil
        context.close(promise: nil)
    }

    // MARK: Responses (on the event loop)

    /// The channel's context while responses may be written to it.
    private var writableContext: ChannelHandlerContext? {
        isWritable ? context : nil
    }

    fileprivate func writeHead(_ head: HTTPResponse) -> EventLoopFuture<Void>? {
        guard let context = writableContext else { return closed() }
        // The edge's own answer may end the connection (413: the rest of the body is not read).
        if ForwardedHeaders.connectionListed(head.headerFields).contains("close") { closeAfterResponse = true }
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        return nil
    }

    /// Writes `part` (flushed when `flush`) while the channel takes more; otherwise flushes and
    /// returns the write's future, which the writer waits for (the client sets the pace).
    fileprivate func writeBody(_ part: ByteBuffer, flush: Bool) -> EventLoopFuture<Void>? {
        guard let context = writableContext else { return closed() }
        if context.channel.isWritable {
            if flush {
                context.writeAndFlush(wrapOutboundOut(.body(part)), promise: nil)
            } else {
                context.write(wrapOutboundOut(.body(part)), promise: nil)
            }
            return nil
        }
        let promise = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.body(part)), promise: promise)
        return promise.futureResult
    }

    /// A failed write, for a writer that must stop (and abandon what it relays): the channel is
    /// closed, or the request was answered otherwise.
    private func closed() -> EventLoopFuture<Void>? {
        eventLoop?.makeFailedFuture(ChannelError.ioOnClosedChannel)
    }

    fileprivate func writeEnd(_ trailers: HTTPFields?) -> EventLoopFuture<Void>? {
        guard let context = writableContext else { return closed() }
        // The state is cleared first: the next pipelined request may arrive within this write.
        answering = false
        body?.discardRest()
        if closeAfterResponse {
            // Nothing more is read or answered on this connection.
            closing = true
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(trailers))).whenComplete { _ in channel.close(promise: nil) }
        } else {
            // The rest of the request's body (one the responder did not read) is read and dropped.
            resumeReading()
            context.writeAndFlush(wrapOutboundOut(.end(trailers)), promise: nil)
        }
        return nil
    }

    /// Ends a connection whose response cannot be completed (one the read guard answered, it
    /// closes itself once its answer is out).
    fileprivate func close() {
        writableContext?.close(promise: nil)
    }
}

/// Writes a response's parts through the handler on its event loop (directly when the task
/// already runs there, as it does on NIO's loops).
private struct EdgeResponseWriter: ResponseBodyWriter {
    let handler: NIOLoopBound<EdgeHTTP1Handler>
    /// Whether each piece is flushed as it is written (a streamed body), or only with the end.
    let flushesEachPiece: Bool

    private func onLoop(_ body: @escaping @Sendable (EdgeHTTP1Handler) -> EventLoopFuture<Void>?) async throws {
        let eventLoop = handler.eventLoop
        if eventLoop.inEventLoop {
            if let wait = body(handler.value) { try await wait.get() }
            return
        }
        let handler = handler
        try await eventLoop.flatSubmit { body(handler.value) ?? eventLoop.makeSucceededVoidFuture() }.get()
    }

    func head(_ head: HTTPResponse) async throws {
        try await onLoop { $0.writeHead(head) }
    }

    mutating func write(_ buffer: ByteBuffer) async throws {
        let flush = flushesEachPiece
        try await onLoop { $0.writeBody(buffer, flush: flush) }
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {
        try await onLoop { $0.writeEnd(trailingHeaders) }
    }

    func close() async {
        try? await onLoop { handler in
            handler.close()
            return nil
        }
    }
}

/// A request body as it arrives, read by the responder's task (``BodyPieces``: the connection
/// stops reading while enough waits). Its state lives on the connection's event loop.
final class EdgeRequestBody: AsyncSequence, @unchecked Sendable {
    // @unchecked: every stored property is read and written on `eventLoop` only.
    typealias Element = ByteBuffer

    let eventLoop: any EventLoop
    private let handler: NIOLoopBound<EdgeHTTP1Handler>
    private var pieces = BodyPieces()
    /// The response was written: what still arrives of this body is dropped.
    private var discarding = false

    init(eventLoop: any EventLoop, resumeReading handler: NIOLoopBound<EdgeHTTP1Handler>) {
        self.eventLoop = eventLoop
        self.handler = handler
    }

    var wantsMoreData: Bool { discarding || pieces.wantsMoreData }

    func received(_ part: ByteBuffer) {
        if !discarding { pieces.received(part) }
    }

    func receivedEnd() {
        pieces.receivedEnd()
    }

    func fail(_ error: any Error) {
        pieces.fail(error)
    }

    func discardRest() {
        discarding = true
        pieces.fail(CancellationError())
    }

    /// What has arrived, taken without waiting on a future (a small body comes with its head).
    private func take() -> BodyPieces.Next {
        let next = pieces.take()
        if case .part = next, pieces.mayResumeReading { handler.value.resumeReading() }
        return next
    }

    /// The next piece, `nil` at the end.
    private func nextOnLoop() -> EventLoopFuture<ByteBuffer?> {
        switch take() {
        case .part(let part): return eventLoop.makeSucceededFuture(part)
        case .end: return eventLoop.makeSucceededFuture(nil)
        case .failed(let error): return eventLoop.makeFailedFuture(error)
        case .none:
            let next = pieces.wait(on: eventLoop)
            handler.value.resumeReading()
            return next
        }
    }

    func next() async throws -> ByteBuffer? {
        guard eventLoop.inEventLoop else { return try await eventLoop.flatSubmit { self.nextOnLoop() }.get() }
        switch take() {
        case .part(let part): return part
        case .end: return nil
        case .failed(let error): throw error
        case .none: return try await nextOnLoop().get()
        }
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        let body: EdgeRequestBody

        func next() async throws -> ByteBuffer? {
            try await body.next()
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(body: self)
    }
}
