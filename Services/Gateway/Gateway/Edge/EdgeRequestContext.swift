import Hummingbird
import NIOCore

/// The request context of the public edge: the connection, for its client address and SNI name.
public struct EdgeRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The client's connection.
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// Bodies are bounded per route class by the edge itself.
    public var maxUploadSize: Int { 0 }

    /// The client's address.
    public var clientIP: String? { channel.remoteAddress?.ipAddress }
}
