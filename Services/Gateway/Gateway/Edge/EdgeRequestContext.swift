import Hummingbird
import NIOCore

/// The request context of the public edge: the connection, for its client address and SNI name.
public struct EdgeRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The request's channel: the HTTP/1.1 connection, or an HTTP/2 stream of one.
    public let channel: any Channel
    /// The client's address.
    public let clientIP: String?
    /// The connection's SNI name and protocol when the connection's handler already knows them
    /// (HTTP/1.1); otherwise they are looked up in the channel's pipeline.
    let connection: (serverName: String?, isHTTP2: Bool)?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
        clientIP = source.channel.remoteAddress?.ipAddress
        connection = nil
    }

    /// A context for a request of an HTTP/1.1 connection whose address and SNI name were read once.
    init(source: ApplicationRequestContextSource, clientIP: String?, serverName: String?) {
        coreContext = .init(source: source)
        channel = source.channel
        self.clientIP = clientIP
        connection = (serverName, false)
    }

    /// Bodies are bounded per route class by the edge itself.
    public var maxUploadSize: Int { 0 }
}
