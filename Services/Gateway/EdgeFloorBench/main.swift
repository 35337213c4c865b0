import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

// usage: EdgeFloorBench <port> <cert> <key> <ca> <upstream-port> <client-cert> <client-key>
let arguments = CommandLine.arguments
let port = Int(arguments[1])!
let upstreamPort = Int(arguments[5])!
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

final class BackHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    let front: ChannelHandlerContext
    init(front: ChannelHandlerContext) { self.front = front }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            var headers = HTTPHeaders()
            for (name, value) in head.headers where name.lowercased() != "connection" && name.lowercased() != "server" {
                headers.add(name: name, value: value)
            }
            headers.add(name: "Strict-Transport-Security", value: "max-age=63072000; includeSubDomains")
            headers.add(name: "X-Content-Type-Options", value: "nosniff")
            headers.add(name: "X-Frame-Options", value: "DENY")
            front.write(NIOAny(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: head.status, headers: headers))), promise: nil)
        case .body(let body):
            front.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(body))), promise: nil)
        case .end:
            front.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)), promise: nil)
        }
    }
}

final class FrontHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    var upstream: (any Channel)?
    var pending: [HTTPClientRequestPart] = []
    var connecting = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            var headers = HTTPHeaders()
            headers.add(name: "Host", value: "localhost")
            for (name, value) in head.headers where name.lowercased() != "host" && name.lowercased() != "connection" {
                headers.add(name: name, value: value)
            }
            headers.add(name: "X-Forwarded-For", value: "127.0.0.1")
            headers.add(name: "X-Forwarded-Proto", value: "https")
            send(.head(HTTPRequestHead(version: .http1_1, method: head.method, uri: head.uri, headers: headers)), context: context)
        case .body(let body):
            send(.body(.byteBuffer(body)), context: context)
        case .end:
            send(.end(nil), context: context)
        }
    }

    func send(_ part: HTTPClientRequestPart, context: ChannelHandlerContext) {
        if let upstream {
            if case .end = part { upstream.writeAndFlush(part, promise: nil) } else { upstream.write(part, promise: nil) }
            return
        }
        pending.append(part)
        guard !connecting else { return }
        connecting = true
        let front = context
        ClientBootstrap(group: context.eventLoop)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                try! channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: clientContext, serverHostname: "localhost"))
                try! channel.pipeline.syncOperations.addHTTPClientHandlers()
                try! channel.pipeline.syncOperations.addHandler(BackHandler(front: front))
                return channel.eventLoop.makeSucceededVoidFuture()
            }
            .connect(host: "127.0.0.1", port: upstreamPort)
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    self.upstream = channel
                    for part in self.pending { channel.write(part, promise: nil) }
                    self.pending = []
                    channel.flush()
                case .failure:
                    front.close(promise: nil)
                }
            }
    }

    func channelInactive(context: ChannelHandlerContext) {
        upstream?.close(promise: nil)
    }
}

let group = MultiThreadedEventLoopGroup.singleton
let server = try ServerBootstrap(group: group)
    .serverChannelOption(ChannelOptions.backlog, value: 256)
    .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
    .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: serverContext))
            try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
            try channel.pipeline.syncOperations.addHandler(FrontHandler())
        }
    }
    .bind(host: "127.0.0.1", port: port).wait()
try server.closeFuture.wait()
