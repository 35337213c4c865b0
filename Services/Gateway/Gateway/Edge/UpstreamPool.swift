import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import RampartTransport
import Synchronization

/// Kept-alive HTTP/1.1 connections over mutual TLS to service instances, on SwiftNIO channel
/// handlers: the proxy's hot path. Idle connections are kept per event loop, and a request takes
/// one of its client connection's own loop, so the request, its upstream exchange and the response
/// body run on one thread without locks or thread hops (AsyncHTTPClient, used for the edge's other
/// calls, costs a task, an async sequence and crossings between thread pools per request).
///
/// TLS is the internal client configuration (``InternalTLS/clientConfiguration()``): this edge's
/// certificate presented, the callee verified against the internal CA alone, its name or IP
/// address checked against its certificate — as AsyncHTTPClient did it for the same URLs.
final class UpstreamPool: Sendable {
    /// Where a service instance listens.
    struct Address: Hashable, Sendable {
        let host: String
        let port: Int
        /// The `Host` header value (made once: every proxied request sends it).
        let authority: String

        /// The `https://host:port` base URL's host and port (443 when it names none).
        init?(baseURL: String) {
            guard let url = URL(string: baseURL), let host = url.host, !host.isEmpty else { return nil }
            self.host = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
            port = url.port ?? 443
            authority = self.host.contains(":") ? "[\(self.host)]:\(port)" : "\(self.host):\(port)"
        }
        /// The name sent as SNI and verified against the certificate; an IP address is verified
        /// against the certificate's IP addresses instead (NIO SSL does so when no name is given).
        var serverHostname: String? { (try? SocketAddress(ipAddress: host, port: port)) == nil ? host : nil }
    }

    /// One event loop's idle connections, read and changed only on that loop.
    private final class LoopIdle: Sendable {
        let eventLoop: any EventLoop
        let connections: NIOLoopBoundBox<[Address: [UpstreamConnection]]>

        init(eventLoop: any EventLoop) {
            self.eventLoop = eventLoop
            connections = .makeBoxSendingValue([:], eventLoop: eventLoop)
        }
    }

    private let sslContext: NIOSSLContext
    private let connectTimeout: TimeAmount
    /// Idle connections kept per address and event loop; a finished one beyond that is closed.
    private let maximumIdle: Int
    private let loops: [LoopIdle]
    private let isShutDown = Atomic<Bool>(false)

    init(tls: InternalTLS, connectTimeout: TimeAmount, maximumIdle: Int = 64, group: MultiThreadedEventLoopGroup = .singleton) throws {
        var configuration = tls.clientConfiguration()
        configuration.applicationProtocols = ["http/1.1"]
        sslContext = try NIOSSLContext(configuration: configuration)
        self.connectTimeout = connectTimeout
        self.maximumIdle = maximumIdle
        loops = group.makeIterator().map { LoopIdle(eventLoop: $0) }
    }

    /// A connection to `address` on `eventLoop` (the caller's client connection's loop): an idle
    /// one that is still open, or a new one. Connection failures are NIO's errors (502).
    func connection(to address: Address, on eventLoop: any EventLoop) -> EventLoopFuture<UpstreamConnection> {
        let loop = loops.first { $0.eventLoop === eventLoop } ?? loops[0]
        if loop.eventLoop.inEventLoop { return connectionOnLoop(to: address, loop: loop) }
        return loop.eventLoop.flatSubmit { self.connectionOnLoop(to: address, loop: loop) }
    }

    /// An idle connection to `address`, taken at once when the caller runs on `eventLoop` itself
    /// (as a request usually does): no future to wait on. `nil` otherwise, or when none is idle.
    func idleConnection(to address: Address, on eventLoop: any EventLoop) -> UpstreamConnection? {
        guard eventLoop.inEventLoop, let loop = loops.first(where: { $0.eventLoop === eventLoop }) else { return nil }
        return takeIdle(to: address, loop: loop)
    }

    private func takeIdle(to address: Address, loop: LoopIdle) -> UpstreamConnection? {
        while let connection = loop.connections.value[address]?.popLast() {
            if connection.channel.isActive { return connection }
        }
        return nil
    }

    private func connectionOnLoop(to address: Address, loop: LoopIdle) -> EventLoopFuture<UpstreamConnection> {
        if let idle = takeIdle(to: address, loop: loop) { return loop.eventLoop.makeSucceededFuture(idle) }
        let sslContext = sslContext
        return ClientBootstrap(group: loop.eventLoop)
            .connectTimeout(connectTimeout)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                do {
                    let handlers = channel.pipeline.syncOperations
                    try handlers.addHandler(NIOSSLClientHandler(context: sslContext, serverHostname: address.serverHostname))
                    // The request's fields come from HTTPTypes, which has validated them already.
                    try handlers.addHTTPClientHandlers(enableOutboundHeaderValidation: false)
                    try handlers.addHandler(UpstreamHandler(pool: self, address: address))
                    return channel.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
            .connect(host: address.host, port: address.port)
            .flatMapThrowing { channel in
                let handler = try channel.pipeline.syncOperations.handler(type: UpstreamHandler.self)
                let connection = UpstreamConnection(channel: channel, handler: NIOLoopBound(handler, eventLoop: channel.eventLoop))
                handler.connection = connection
                return connection
            }
    }

    /// Keeps a connection whose exchange finished cleanly for the next request (on its loop).
    func release(_ connection: UpstreamConnection, address: Address) {
        guard !isShutDown.load(ordering: .relaxed),
              let loop = loops.first(where: { $0.eventLoop === connection.channel.eventLoop }),
              loop.connections.value[address, default: []].count < maximumIdle
        else {
            connection.channel.close(promise: nil)
            return
        }
        loop.connections.value[address, default: []].append(connection)
    }

    /// Drops a closed connection from its loop's idle list (on its loop).
    func forget(_ connection: UpstreamConnection, address: Address) {
        guard let loop = loops.first(where: { $0.eventLoop === connection.channel.eventLoop }) else { return }
        loop.connections.value[address]?.removeAll { $0 === connection }
    }

    /// Closes every idle connection; connections in use close when their exchange ends.
    func shutdown() async {
        isShutDown.store(true, ordering: .relaxed)
        for loop in loops {
            try? await loop.eventLoop.submit {
                for connection in loop.connections.value.values.joined() { connection.channel.close(promise: nil) }
                loop.connections.value = [:]
            }.get()
        }
    }
}

/// One pooled connection: its channel and its handler, which only its event loop touches.
final class UpstreamConnection: Sendable {
    let channel: any Channel
    private let handler: NIOLoopBound<UpstreamHandler>

    init(channel: any Channel, handler: NIOLoopBound<UpstreamHandler>) {
        self.channel = channel
        self.handler = handler
    }

    /// Starts `exchange`: writes the request head and `body` and, when `complete`, the request's
    /// end (otherwise ``sendBodyPart(_:)`` and ``sendEnd()`` follow).
    func send(_ head: HTTPRequestHead, body: ByteBuffer?, complete: Bool, exchange: UpstreamExchange) {
        onLoop { $0.send(head, body: body, complete: complete, exchange: exchange) }
    }

    /// One piece of a streamed request body; the future completes once it has been written
    /// (the stream's backpressure).
    func sendBodyPart(_ buffer: ByteBuffer) -> EventLoopFuture<Void> {
        let promise = channel.eventLoop.makePromise(of: Void.self)
        onLoop { $0.sendBodyPart(buffer, promise: promise) }
        return promise.futureResult
    }

    /// The end of a streamed request body.
    func sendEnd() {
        onLoop { $0.sendEnd() }
    }

    private func onLoop(_ body: @escaping @Sendable (UpstreamHandler) -> Void) {
        if channel.eventLoop.inEventLoop {
            body(handler.value)
        } else {
            channel.eventLoop.execute { body(self.handler.value) }
        }
    }
}
