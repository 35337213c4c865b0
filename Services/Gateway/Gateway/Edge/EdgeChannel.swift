import HummingbirdCore
import HummingbirdHTTP2
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOHTTPTypesHTTP1
import NIOSSL
import NIOTLS

/// A public connection's pipeline: per-address limit, first-request deadline and SNI capture →
/// TLS with ALPN (`h2`, `http/1.1`) → HTTP/1.1 on the edge's own handler (``EdgeHTTP1Handler``),
/// or HTTP/2 on Hummingbird's (each stream with the edge's read timeouts and header limits) →
/// the edge responder.
struct EdgeChannel: ServerChildChannel {
    struct Value: ServerChildChannelValue {
        /// What ALPN chose: HTTP/1.1 (served by the pipeline's handlers) or an HTTP/2 connection.
        let negotiated: EventLoopFuture<NIONegotiatedHTTPVersion<Void, HTTP2Channel.Value>>
        let channel: any Channel
    }

    /// The public certificate, offering `h2` and `http/1.1`.
    let tls: NIOSSLContext
    let http2: HTTP2Channel
    let responder: EdgeResponder
    let readLimits: RequestReadGuard.Limits
    let limiter: ConnectionLimiter
    let logger: Logger

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let edgeLogger = self.logger
        return channel.eventLoop.makeCompletedFuture {
            let connection = ConnectionGuard(limiter: limiter, firstRequestTimeout: readLimits.headerRead, logger: edgeLogger)
            let eventLoop = channel.eventLoop
            let sync = channel.pipeline.syncOperations
            try sync.addHandler(connection)
            // Reads the ClientHello's server name, then steps aside for the TLS handler.
            try sync.addHandler(ByteToMessageHandler(SNIHandler { result in
                connection.record(result)
                return eventLoop.makeSucceededVoidFuture()
            }))
            try sync.addHandler(NIOSSLServerHandler(context: tls))
            let negotiation = NIOTypedApplicationProtocolNegotiationHandler<NIONegotiatedHTTPVersion<Void, HTTP2Channel.Value>> { result in
                switch result {
                case .negotiated("h2"):
                    return http2.setup(channel: channel, logger: logger).map { .http2($0) }
                case .negotiated("http/1.1"), .fallback:
                    return channel.eventLoop.makeCompletedFuture {
                        try addHTTP1Handlers(to: channel)
                        return .http1_1(())
                    }
                case .negotiated:
                    return channel.close().flatMap { channel.eventLoop.makeFailedFuture(NIOHTTP2Errors.invalidALPNToken()) }
                }
            }
            try sync.addHandler(negotiation)
            return Value(negotiated: negotiation.protocolNegotiationResult, channel: channel)
        }
    }

    /// NIO's HTTP/1.1 codec with the edge's header limits and pipelining assistance (which also
    /// does graceful shutdown: idle connections close at once, busy ones after their response),
    /// HTTPTypes' codec, the read guard and the edge's request handler.
    private func addHTTP1Handlers(to channel: any Channel) throws {
        var decoderLimits = NIOHTTPDecoderLimitConfiguration()
        decoderLimits.maxHeaderFieldSize = readLimits.maxHeaderBytes
        decoderLimits.maxHeaderListSize = readLimits.maxHeaderBytes
        decoderLimits.maxHeaderFieldCount = readLimits.maxHeaderCount
        let sync = channel.pipeline.syncOperations
        try sync.configureHTTPServerPipeline(
            withPipeliningAssistance: true, withErrorHandling: false, withOutboundHeaderValidation: false,
            withEncoderConfiguration: .init(), withDecoderLimitConfiguration: decoderLimits
        )
        try sync.addHandler(HTTP1ToHTTPServerCodec(secure: false))
        try sync.addHandler(RequestReadGuard(limits: readLimits, logger: logger))
        try sync.addHandler(EdgeHTTP1Handler(responder: responder, logger: logger))
    }

    func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.negotiated.get() {
            case .http1_1:
                // Requests are served by the pipeline's handlers; the connection's task waits for its end.
                let channel = value.channel
                try await withTaskCancellationHandler {
                    try await channel.closeFuture.get()
                } onCancel: {
                    // As Hummingbird's HTTP/1.1 server: no more requests; one in flight finishes.
                    channel.close(mode: .input, promise: nil)
                }
            case .http2(let connection):
                await http2.handle(value: connection, logger: logger)
            }
        } catch {
            logger.debug("edge.connection.ended", metadata: ["error.type": "\(type(of: error))"])
        }
    }

    /// What a request's connection says about it: the SNI name it was set up for, and whether
    /// the request is an HTTP/2 stream of it. `channel` is the request's channel: the HTTP/1.1
    /// connection itself, or an HTTP/2 stream whose parent is the connection.
    static func connection(of channel: any Channel) async -> (serverName: String?, isHTTP2: Bool) {
        // Usually already on the channel's loop (NIO's loops are the gateway's executor).
        if channel.eventLoop.inEventLoop { return connectionOnLoop(of: channel) }
        return (try? await channel.eventLoop.submit { connectionOnLoop(of: channel) }.get()) ?? (nil, false)
    }

    private static func connectionOnLoop(of channel: any Channel) -> (serverName: String?, isHTTP2: Bool) {
        if let own = try? channel.pipeline.syncOperations.handler(type: ConnectionGuard.self) { return (own.serverName, false) }
        guard let parent = channel.parent, parent.eventLoop.inEventLoop,
              let connection = try? parent.pipeline.syncOperations.handler(type: ConnectionGuard.self)
        else { return (nil, false) }
        return (connection.serverName, true)
    }
}
