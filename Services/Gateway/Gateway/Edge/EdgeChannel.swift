import HummingbirdCore
import Logging
import NIOCore
import NIOSSL
import NIOTLS

/// A public connection's pipeline: per-address limit and SNI capture → TLS → HTTP/1.1 (with
/// the edge's read timeouts and header limits) → the edge responder.
struct EdgeChannel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = HTTP1Channel.Value

    let base: HTTP1Channel
    let sslContext: NIOSSLContext
    let limiter: ConnectionLimiter
    let logger: Logger

    var responder: HTTPChannelHandler.Responder { base.responder }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let edgeLogger = self.logger
        return channel.eventLoop.makeCompletedFuture {
            let connection = ConnectionGuard(limiter: limiter, logger: edgeLogger)
            let eventLoop = channel.eventLoop
            let sync = channel.pipeline.syncOperations
            try sync.addHandler(connection)
            // Reads the ClientHello's server name, then steps aside for the TLS handler.
            try sync.addHandler(ByteToMessageHandler(SNIHandler { result in
                connection.record(result)
                return eventLoop.makeSucceededVoidFuture()
            }))
            try sync.addHandler(NIOSSLServerHandler(context: sslContext))
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }

    /// The SNI name the connection under `channel` (an HTTP/1 connection) sent, if any.
    static func serverName(of channel: any Channel) async -> String? {
        try? await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.handler(type: ConnectionGuard.self).serverName
        }.get()
    }
}
