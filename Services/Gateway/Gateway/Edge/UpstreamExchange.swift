import NIOCore
import NIOHTTP1

/// Why an upstream exchange ended without a whole response.
enum UpstreamError: Error {
    /// No response head, or no further body, within the response timeout (504 before the head).
    case timeout
    /// The service closed the connection before the response ended.
    case closed
    /// The response was not wanted any more (the client went away).
    case abandoned
}

/// One proxied request's response as it arrives from the service: its head, then its body in
/// pieces, read from the connection only as fast as the client takes them (backpressure: the
/// connection stops reading past ``BodyPieces/highWater`` buffered bytes). Its state lives on the
/// connection's event loop; the async side (``head()``, ``next()``) reaches it there.
///
/// The response timeout bounds each wait for the service — for the head, then between body
/// pieces — but not the time the client takes to read (the edge's write timeout bounds that).
final class UpstreamExchange: @unchecked Sendable {
    // @unchecked: every stored property is read and written on `eventLoop` only.
    let eventLoop: any EventLoop
    private let timeout: TimeAmount

    private var head: HTTPResponseHead?
    private var body = BodyPieces()
    private var headWaiter: EventLoopPromise<HTTPResponseHead>?
    /// The connection's handler while the exchange uses it (to read on, or to close); its
    /// response deadline runs while the exchange waits for the service: for the head, or with
    /// a reader waiting.
    private var handler: UpstreamHandler?

    init(eventLoop: any EventLoop, timeout: TimeAmount) {
        self.eventLoop = eventLoop
        self.timeout = timeout
    }

    // MARK: The async side

    /// The response head, once it arrives.
    func responseHead() async throws -> HTTPResponseHead {
        try await onLoop { exchange in
            if let head = exchange.head { return exchange.eventLoop.makeSucceededFuture(head) }
            if let failure = exchange.body.failure { return exchange.eventLoop.makeFailedFuture(failure) }
            let waiter = exchange.eventLoop.makePromise(of: HTTPResponseHead.self)
            exchange.headWaiter = waiter
            return waiter.futureResult
        }
    }

    /// The next piece of the body, `nil` at its end.
    func next() async throws -> ByteBuffer? {
        try await onLoop { exchange in
            switch exchange.body.take() {
            case .part(let part):
                if exchange.body.mayResumeReading { exchange.handler?.resumeReading() }
                return exchange.eventLoop.makeSucceededFuture(part)
            case .end:
                return exchange.eventLoop.makeSucceededFuture(nil)
            case .failed(let error):
                return exchange.eventLoop.makeFailedFuture(error)
            case .none:
                exchange.handler?.responseDeadline?.move(by: exchange.timeout)
                let next = exchange.body.wait(on: exchange.eventLoop)
                exchange.handler?.resumeReading()
                return next
            }
        }
    }

    /// The rest of the body in one buffer, for a response small enough to hold whole: taken at
    /// once when it has already arrived (a small response comes with its head), else piece by
    /// piece as ``next()`` gives it.
    func rest() async throws -> ByteBuffer {
        if eventLoop.inEventLoop, body.ended, body.failure == nil { return body.takeAll() }
        var whole = ByteBuffer()
        while var part = try await next() { whole.writeBuffer(&part) }
        return whole
    }

    /// Why the exchange failed, if it has (a service that stopped taking a streamed upload timed
    /// it out: the write that failed with it is only the consequence).
    func failure() async -> (any Error)? {
        try? await onLoop { exchange in exchange.eventLoop.makeSucceededFuture(exchange.body.failure) }
    }

    /// The rest of the response is not wanted: a connection still in the middle of it is closed.
    func abandon() {
        if eventLoop.inEventLoop {
            fail(UpstreamError.abandoned)
        } else {
            eventLoop.execute { self.fail(UpstreamError.abandoned) }
        }
    }

    private func onLoop<Value: Sendable>(
        _ body: @escaping @Sendable (UpstreamExchange) -> EventLoopFuture<Value>
    ) async throws -> Value {
        if eventLoop.inEventLoop { return try await body(self).get() }
        return try await eventLoop.flatSubmit { body(self) }.get()
    }

    // MARK: The connection's side (on the event loop)

    /// The request went out on `handler`'s connection; the wait for the head begins.
    func attach(to handler: UpstreamHandler) {
        self.handler = handler
    }

    /// The request has been written whole: the response timeout runs from here.
    func requestSent() {
        handler?.responseDeadline?.move(by: timeout)
    }

    /// Part of a streamed request went out (its head, a piece of its body): until the response
    /// head arrives, the service has the response timeout to take each piece, so a service that
    /// stops reading a streamed upload fails the exchange (504) instead of holding it forever.
    func requestProgressed() {
        if head == nil { handler?.responseDeadline?.move(by: timeout) }
    }

    /// Whether the connection may read more now.
    var wantsMoreData: Bool { body.wantsMoreData }

    func received(_ head: HTTPResponseHead) {
        self.head = head
        // No reader waits for the body yet.
        handler?.responseDeadline?.clear()
        headWaiter?.succeed(head)
        headWaiter = nil
    }

    func received(_ part: ByteBuffer) {
        // A reader waited for it: the service is no longer waited for.
        if body.received(part) { handler?.responseDeadline?.clear() }
    }

    /// The response ended; the connection no longer belongs to this exchange.
    func receivedEnd() {
        handler?.responseDeadline?.clear()
        handler = nil
        body.receivedEnd()
    }

    /// The exchange failed (or was abandoned): waiters get the error, and a connection still in
    /// the middle of it is closed — it cannot carry another request.
    func fail(_ error: any Error) {
        guard !body.ended, body.failure == nil else { return }
        // Recorded first: closing the connection below reports its end back here.
        body.fail(error)
        let handler = handler
        handler?.responseDeadline?.clear()
        self.handler = nil
        handler?.close()
        headWaiter?.fail(error)
        headWaiter = nil
    }
}

/// The last handler of a pooled connection's pipeline (after TLS and the HTTP/1.1 client codec):
/// sends the current exchange's request, hands it the response, holds reads back while the
/// exchange has enough buffered, and returns the connection to the pool when a response ended
/// cleanly on a connection that stays open.
final class UpstreamHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    private let pool: UpstreamPool
    private let address: UpstreamPool.Address
    /// Set once the channel is connected; the pool's handle on it.
    var connection: UpstreamConnection?
    private var context: ChannelHandlerContext?
    private var exchange: UpstreamExchange?
    private var requestComplete = false
    private var keepAlive = false
    /// Inside an informational (1xx) response, which is skipped.
    private var informational = false
    /// A read held back because the exchange has enough buffered.
    private var readHeld = false
    /// The error that ended the channel (a TLS handshake the service failed, say): an exchange
    /// that meets the channel gone fails with it, not as merely closed, whichever came first.
    private var endedBy: (any Error)?

    init(pool: UpstreamPool, address: UpstreamPool.Address) {
        self.pool = pool
        self.address = address
    }

    /// The current exchange's response timeout, one per connection: exchanges move and clear it.
    private(set) var responseDeadline: MovingDeadline?

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        responseDeadline = MovingDeadline(on: context.eventLoop) { [weak self] in self?.exchange?.fail(UpstreamError.timeout) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        responseDeadline?.stop()
    }

    // MARK: Requests

    func send(_ head: HTTPRequestHead, body: ByteBuffer?, complete: Bool, exchange: UpstreamExchange) {
        guard let context, context.channel.isActive, self.exchange == nil else {
            exchange.fail(endedBy ?? UpstreamError.closed)
            return
        }
        self.exchange = exchange
        exchange.attach(to: self)
        requestComplete = false
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if let body { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        if complete {
            sendEnd()
        } else {
            context.flush()
            exchange.requestProgressed()
        }
    }

    func sendBodyPart(_ buffer: ByteBuffer, promise: EventLoopPromise<Void>) {
        guard let context else {
            promise.fail(UpstreamError.closed)
            return
        }
        exchange?.requestProgressed()
        context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: promise)
    }

    func sendEnd() {
        guard let context else { return }
        requestComplete = true
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        exchange?.requestSent()
    }

    /// Reads again after the exchange's buffer drained.
    func resumeReading() {
        guard readHeld, let context else { return }
        readHeld = false
        context.read()
    }

    func close() {
        context?.close(promise: nil)
    }

    // MARK: Responses

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let exchange else {
            // Nothing was asked: a service that talks unprompted is not trusted with the next request.
            context.close(promise: nil)
            return
        }
        switch unwrapInboundIn(data) {
        case .head(let head):
            if head.status.code >= 100, head.status.code < 200 {
                informational = true
                return
            }
            keepAlive = head.isKeepAlive
            exchange.received(head)
        case .body(let part):
            exchange.received(part)
        case .end:
            if informational {
                informational = false
                return
            }
            self.exchange = nil
            exchange.receivedEnd()
            if keepAlive, requestComplete, let connection {
                pool.release(connection, address: address)
            } else {
                context.close(promise: nil)
            }
        }
    }

    func read(context: ChannelHandlerContext) {
        if let exchange, !exchange.wantsMoreData {
            readHeld = true
        } else {
            context.read()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        let exchange = exchange
        self.exchange = nil
        exchange?.fail(endedBy ?? UpstreamError.closed)
        if let connection { pool.forget(connection, address: address) }
        // The connection and this handler refer to each other until the channel is gone.
        connection = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        endedBy = endedBy ?? error
        let exchange = exchange
        self.exchange = nil
        exchange?.fail(error)
        context.close(promise: nil)
    }
}
