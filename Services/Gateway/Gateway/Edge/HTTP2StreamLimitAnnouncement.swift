import NIOCore
import NIOHTTP2

/// Tells an HTTP/2 client the edge's `max_concurrent_streams` with a SETTINGS frame, then steps
/// aside. HummingbirdHTTP2 (2.28) builds NIOHTTP2's handler with its default settings (100
/// streams) and offers no way to change them, so the edge sends its own value once the
/// connection is set up (added at the end of the connection's pipeline, after NIOHTTP2's
/// handler, when the first stream opens). NIOHTTP2 enforces it once the client acknowledges it;
/// until then ``RequestReadGuard`` resets streams beyond it (RFC 9113 §5.1.2 allows both).
final class HTTP2StreamLimitAnnouncement: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    let maximum: Int

    init(maximum: Int) {
        self.maximum = maximum
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let settings = HTTP2Frame(streamID: .rootStream, payload: .settings(.settings([
            HTTP2Setting(parameter: .maxConcurrentStreams, value: maximum),
        ])))
        context.writeAndFlush(wrapOutboundOut(settings), promise: nil)
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}
