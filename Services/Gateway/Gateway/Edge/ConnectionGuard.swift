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
    /// HTTP/2 streams open on this connection.
    private var openStreams = 0
    private var announcedStreamLimit = false

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

    /// An HTTP/2 stream of this connection (`channel`) opened; false when that makes more than
    /// `maximum` open at once. The first stream also announces `maximum` to the client (see
    /// ``HTTP2StreamLimitAnnouncement``). Called on the connection's event loop.
    func streamOpened(on channel: any Channel, maximum: Int) -> Bool {
        openStreams += 1
        if !announcedStreamLimit {
            announcedStreamLimit = true
            // After NIOHTTP2 has finished with the frames that opened this stream.
            channel.eventLoop.execute {
                try? channel.pipeline.syncOperations.addHandler(HTTP2StreamLimitAnnouncement(maximum: maximum))
            }
        }
        return openStreams <= maximum
    }

    /// An HTTP/2 stream of this connection ended (called on its event loop).
    func streamClosed() {
        openStreams -= 1
    }

    /// Records the result of SNI parsing (called on the channel's event loop).
    func record(_ result: SNIResult) {
        if case .hostname(let name) = result { serverName = name.lowercased() }
    }
}
