import Logging
import NIOCore
import NIOTLS

/// The first handler of every public connection: enforces the per-address connection limit,
/// remembers the TLS server name (SNI) the client asked for, which requests are checked against,
/// and closes a connection whose first request head (TLS handshake and ALPN included) does not
/// arrive within the header-read timeout, whichever protocol it then speaks.
final class ConnectionGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let limiter: ConnectionLimiter
    private let logger: Logger
    private let firstRequestTimeout: TimeAmount
    private var firstRequestDeadline: Scheduled<Void>?
    private var address: String?
    /// The SNI host name, lowercased; `nil` until the ClientHello was read or when none was sent.
    private(set) var serverName: String?

    init(limiter: ConnectionLimiter, firstRequestTimeout: TimeAmount, logger: Logger) {
        self.limiter = limiter
        self.firstRequestTimeout = firstRequestTimeout
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
        let channel = context.channel
        let logger = logger
        firstRequestDeadline = context.eventLoop.scheduleTask(in: firstRequestTimeout) {
            logger.info("edge.connection.timeout", metadata: ["reason": "first_request"])
            channel.close(promise: nil)
        }
        context.fireChannelActive()
    }

    /// A request head arrived on this connection (called on its event loop, also from HTTP/2 streams).
    func requestStarted() {
        firstRequestDeadline?.cancel()
        firstRequestDeadline = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        requestStarted()
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
