import HummingbirdCore
import HummingbirdHTTP2
import Logging
import NIOCore
import NIOTLS

/// A public connection's pipeline: per-address limit, first-request deadline and SNI capture →
/// TLS with ALPN (`h2`, `http/1.1`) → HTTP/1.1 or HTTP/2 (each stream or request with the edge's
/// read timeouts and header limits) → the edge responder.
struct EdgeChannel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = HTTP2UpgradeChannel.Value

    let base: HTTP2UpgradeChannel
    let limiter: ConnectionLimiter
    let firstRequestTimeout: TimeAmount
    let logger: Logger

    var responder: HTTPChannelHandler.Responder { base.responder }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let edgeLogger = self.logger
        return channel.eventLoop.makeCompletedFuture {
            let connection = ConnectionGuard(limiter: limiter, firstRequestTimeout: firstRequestTimeout, logger: edgeLogger)
            let eventLoop = channel.eventLoop
            let sync = channel.pipeline.syncOperations
            try sync.addHandler(connection)
            // Reads the ClientHello's server name, then steps aside for the TLS handler the base adds.
            try sync.addHandler(ByteToMessageHandler(SNIHandler { result in
                connection.record(result)
                return eventLoop.makeSucceededVoidFuture()
            }))
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
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
