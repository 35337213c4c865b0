import Glibc
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

// `make bench-gateway`'s reference case (e): the least a TLS reverse proxy on SwiftNIO does, on
// this machine. TLS and NIO's HTTP/1.1 codec towards the client; per client connection one
// kept-alive upstream connection over mutual TLS on the same event loop; request and response
// parts relayed as they come, with the security headers the other edges add. No routing, checks,
// logging or limits: what the gateway costs beyond this is the edge's own work.
//
//   EdgeFloorBench <port> <certificate> <key> <ca> <upstream-port> <client-certificate> <client-key>

let arguments = CommandLine.arguments
guard arguments.count == 8, let port = Int(arguments[1]), let upstreamPort = Int(arguments[5]) else {
    print("usage: EdgeFloorBench <port> <certificate> <key> <ca> <upstream-port> <client-certificate> <client-key>")
    exit(64)
}

var serverTLS = TLSConfiguration.makeServerConfiguration(
    certificateChain: try NIOSSLCertificate.fromPEMFile(arguments[2]).map { .certificate($0) },
    privateKey: .privateKey(try NIOSSLPrivateKey(file: arguments[3], format: .pem))
)
serverTLS.applicationProtocols = ["http/1.1"]
let serverContext = try NIOSSLContext(configuration: serverTLS)
var clientTLS = TLSConfiguration.makeClientConfiguration()
clientTLS.trustRoots = .file(arguments[4])
clientTLS.certificateChain = try NIOSSLCertificate.fromPEMFile(arguments[6]).map { .certificate($0) }
clientTLS.privateKey = .privateKey(try NIOSSLPrivateKey(file: arguments[7], format: .pem))
clientTLS.applicationProtocols = ["http/1.1"]
let clientContext = try NIOSSLContext(configuration: clientTLS)

/// The upstream connection's last handler: relays the response to the client connection.
final class ResponseRelay: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    /// The client connection (on the same event loop).
    let client: NIOLoopBound<any Channel>

    init(client: NIOLoopBound<any Channel>) {
        self.client = client
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let client = client.value
        switch unwrapInboundIn(data) {
        case .head(let head):
            var headers = HTTPHeaders()
            for (name, value) in head.headers where !["connection", "server"].contains(name.lowercased()) {
                headers.add(name: name, value: value)
            }
            headers.add(name: "Strict-Transport-Security", value: "max-age=63072000; includeSubDomains")
            headers.add(name: "X-Content-Type-Options", value: "nosniff")
            headers.add(name: "X-Frame-Options", value: "DENY")
            client.write(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: head.status, headers: headers)), promise: nil)
        case .body(let body):
            client.write(HTTPServerResponsePart.body(.byteBuffer(body)), promise: nil)
        case .end:
            client.writeAndFlush(HTTPServerResponsePart.end(nil), promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        client.value.close(promise: nil)
        context.close(promise: nil)
    }
}

/// The client connection's last handler: relays each request to its upstream connection,
/// opened with the first request.
final class RequestRelay: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart

    private let upstreamPort: Int
    private let tls: NIOSSLContext

    private var upstream: (any Channel)?
    /// Parts that arrived while the upstream connection was being opened.
    private var waiting: [HTTPClientRequestPart] = []
    private var connecting = false

    init(upstreamPort: Int, tls: NIOSSLContext) {
        self.upstreamPort = upstreamPort
        self.tls = tls
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            var headers = HTTPHeaders()
            headers.add(name: "Host", value: "localhost")
            for (name, value) in head.headers where !["host", "connection"].contains(name.lowercased()) {
                headers.add(name: name, value: value)
            }
            headers.add(name: "X-Forwarded-For", value: context.channel.remoteAddress?.ipAddress ?? "")
            headers.add(name: "X-Forwarded-Proto", value: "https")
            send(.head(HTTPRequestHead(version: .http1_1, method: head.method, uri: head.uri, headers: headers)), context: context)
        case .body(let body):
            send(.body(.byteBuffer(body)), context: context)
        case .end:
            send(.end(nil), context: context)
        }
    }

    private func send(_ part: HTTPClientRequestPart, context: ChannelHandlerContext) {
        if let upstream {
            if case .end = part { upstream.writeAndFlush(part, promise: nil) } else { upstream.write(part, promise: nil) }
            return
        }
        waiting.append(part)
        guard !connecting else { return }
        connecting = true
        let client = NIOLoopBound(context.channel, eventLoop: context.eventLoop)
        let relay = NIOLoopBound(self, eventLoop: context.eventLoop)
        let tls = tls
        ClientBootstrap(group: context.eventLoop)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handlers = channel.pipeline.syncOperations
                    try handlers.addHandler(NIOSSLClientHandler(context: tls, serverHostname: "localhost"))
                    try handlers.addHTTPClientHandlers()
                    try handlers.addHandler(ResponseRelay(client: client))
                }
            }
            .connect(host: "127.0.0.1", port: upstreamPort)
            .whenComplete { result in
                switch result {
                case .success(let channel): relay.value.connected(channel)
                case .failure: client.value.close(promise: nil)
                }
            }
    }

    private func connected(_ channel: any Channel) {
        upstream = channel
        for part in waiting { channel.write(part, promise: nil) }
        waiting = []
        channel.flush()
    }

    func channelInactive(context: ChannelHandlerContext) {
        upstream?.close(promise: nil)
        context.fireChannelInactive()
    }
}

let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
    .serverChannelOption(ChannelOptions.backlog, value: 256)
    .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
    .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
            let handlers = channel.pipeline.syncOperations
            try handlers.addHandler(NIOSSLServerHandler(context: serverContext))
            try handlers.configureHTTPServerPipeline(withErrorHandling: true)
            try handlers.addHandler(RequestRelay(upstreamPort: upstreamPort, tls: clientContext))
        }
    }
    .bind(host: "127.0.0.1", port: port).get()
try await server.closeFuture.get()
