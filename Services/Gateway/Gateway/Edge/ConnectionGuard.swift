import Logging
import NIOCore
import NIOTLS

/// The first handler of every public connection: enforces the per-address connection limit and
/// remembers the TLS server name (SNI) the client asked for, which requests are checked against.
final class ConnectionGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let limiter: ConnectionLimiter
    private let logger: Logger
    private var address: String?
    /// The SNI host name, lowercased; `nil` until the ClientHello was read or when none was sent.
    private(set) var serverName: String?

    init(limiter: ConnectionLimiter, logger: Logger) {
        self.limiter = limiter
        self.logger = logger
    }

    func channelActive(context: ChannelHandlerContext) {
        let address = context.channel.remoteAddress?.ipAddress ?? "unknown"
        guard limiter.open(address) else {
            logger.notice("edge.connection.refused", metadata: ["client.ip": "\(address)", "reason": "per_address_limit"])
            context.close(promise: nil)
            return
        }
        self.address = address
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let address {
            limiter.close(address)
            self.address = nil
        }
        context.fireChannelInactive()
    }

    /// Records the result of SNI parsing (called on the channel's event loop).
    func record(_ result: SNIResult) {
        if case .hostname(let name) = result { serverName = name.lowercased() }
    }
}
