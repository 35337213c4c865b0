import Foundation
import Logging
@testable import Gateway
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import RampartCore
import Synchronization
import Testing

/// The proxy's own upstream pool (``UpstreamPool``): requests reuse kept-alive connections, and a
/// service whose certificate does not chain to the internal CA gets no request. Each case has a
/// gateway of its own whose eu status instance is the server under test.
@Suite("Gateway: upstream connection pool")
struct GatewayUpstreamPoolTests {
    /// A gateway whose `status.localhost` goes to `port`, with a response timeout of 1 s.
    static func gateway(pki: TestPKI, statusPort: Int) async throws -> Int {
        let endpoints: [String: Any] = ["regions": ["eu": ["status": "https://127.0.0.1:\(statusPort)"], "us": [String: String]()]]
        let (port, _) = try await EdgeFixture.startGateway(
            pki: pki, signingKey: .generate(), endpoints: endpoints, policy: try EdgeFixture.policy(responseTimeoutMilliseconds: 1000),
            accessLog: AccessLog(sink: .init { _ in })
        )
        return port
    }

    @Test func requestsReuseKeptAliveUpstreamConnections() async throws {
        let pki = try TestPKI()
        let upstream = try await KeepAliveUpstream.start(pki: pki)
        let port = try await Self.gateway(pki: pki, statusPort: upstream.port)
        let url = "https://status.localhost:\(port)/probe"
        // Eight requests on one client connection, one after the other.
        let reply = try await EdgeClient.request(url, ca: pki.caPath, extra: Array(repeating: url, count: 7))
        // The first answer's head, then its body and the seven others' heads and bodies.
        #expect(reply.status == 200)
        #expect(reply.text.hasPrefix(#"{"ok":true}"#))
        #expect(reply.text.components(separatedBy: "HTTP/1.1 200 OK\r\n").count == 8)
        let served = upstream.probes
        #expect(served.requests == 8)
        // One connection per event loop at most (the health checks use a client of their own).
        #expect(served.connections >= 1 && served.connections <= 2, "\(served.connections) connections for 8 requests")
    }

    @Test func aSmallResponseTheServiceBreaksOffIsA502UpstreamFailedAndALargeOneStreamsWhole() async throws {
        let pki = try TestPKI()
        let upstream = try await KeepAliveUpstream.start(pki: pki)
        let port = try await Self.gateway(pki: pki, statusPort: upstream.port)
        // Held whole before answering, so the client gets a clean problem, not a cut-off 200.
        Self.expectUpstreamFailed(try await EdgeClient.request("https://status.localhost:\(port)/short", ca: pki.caPath))
        // Reset rather than closed: still the service's failure, never "could not be reached"
        // (which would send a status request on to another region's instance).
        Self.expectUpstreamFailed(try await EdgeClient.request("https://status.localhost:\(port)/reset", ca: pki.caPath))
        // Stalled in the middle of its body: 504 once the response timeout (1 s here) passes
        // without another piece, not a wait for the client's own patience.
        let start = ContinuousClock.now
        let stalled = try await EdgeClient.request("https://status.localhost:\(port)/stall", ca: pki.caPath)
        #expect(stalled.status == 504)
        #expect(stalled.json["code"] as? String == "upstream_timeout")
        #expect(start.duration(to: .now) >= .milliseconds(900) && start.duration(to: .now) < .seconds(8), "\(start.duration(to: .now))")
        let large = try await EdgeClient.request("https://status.localhost:\(port)/large", ca: pki.caPath)
        #expect(large.status == 200)
        #expect(large.headers["content-length"] == "\(KeepAliveUpstream.Responder.large.count)")
        #expect(large.body == KeepAliveUpstream.Responder.large)
        // The pool still serves after both.
        #expect(try await EdgeClient.request("https://status.localhost:\(port)/probe", ca: pki.caPath).status == 200)
    }

    /// Every way a held response can end after its head: only a stall is 504, the rest 502
    /// `upstream_failed` (a closed or reset connection before the head is `upstream_unreachable`).
    /// A client that goes away in the middle of a streamed response: the edge stops relaying it
    /// and closes its connection to the service instead of reading the rest into nothing.
    @Test func aClientThatGoesAwayMidResponseEndsTheServicesStream() async throws {
        let pki = try TestPKI()
        let upstream = try await KeepAliveUpstream.start(pki: pki)
        let port = try await Self.gateway(pki: pki, statusPort: upstream.port)
        let client = try await TLSReader.connect(port: port, serverName: "status.localhost", ca: pki.caPath)
        try await client.send("GET /endless HTTP/1.1\r\nHost: status.localhost\r\n\r\n")
        for _ in 0..<100 where client.received < 64 * 1024 { try await Task.sleep(for: .milliseconds(50)) }
        #expect(client.received >= 64 * 1024, "the stream did not start")
        try await client.channel.close()
        // The service sends 100 MiB at about 1.6 MiB/s (about a minute): only an abandoned relay
        // ends it within 20 s. (The client's TLS close may wait up to NIO SSL's 5 s shutdown
        // timeout for the edge's close_notify, and the suite runs beside others on two cores: a
        // 5 s bound failed now and then.)
        var closed = false
        for _ in 0..<400 where !closed {
            try await Task.sleep(for: .milliseconds(50))
            closed = upstream.endlessStreamsClosed > 0
        }
        #expect(closed, "the service's connection was still read after the client left")
    }

    @Test func aServiceThatAnsweredIsNeverUnreachable() {
        let proxy = EdgeProxy(responseTimeout: .seconds(1), logger: Logger(label: "test"))
        let eu = Region(rawValue: "eu")!
        #expect(proxy.problemAfterHead(for: UpstreamError.timeout, service: .status, region: eu).code == "upstream_timeout")
        for error: any Error in [UpstreamError.closed, IOError(errnoCode: ECONNRESET, reason: "read"), ChannelError.ioOnClosedChannel, HTTPParserError.invalidEOFState] {
            #expect(proxy.problemAfterHead(for: error, service: .status, region: eu).code == "upstream_failed", "\(error)")
        }
        // Before the head, the same closed connection is the failover's signal.
        #expect(proxy.problem(for: UpstreamError.closed, service: .status, region: eu).code == "upstream_unreachable")
    }

    @Test func aServiceCertificateFromAnotherCAIsRefused() async throws {
        let pki = try TestPKI()
        // Another CA of the same name, and a TLS server presenting its eu status certificate.
        let rogue = try TestPKI()
        let impostor = try await SilentUpstream.start(pki: rogue)
        let port = try await Self.gateway(pki: pki, statusPort: impostor.port)
        Self.expectUpstreamFailed(try await EdgeClient.request("https://status.localhost:\(port)/", ca: pki.caPath))
    }

    /// A 502 problem document saying the service failed (not that it could not be reached).
    static func expectUpstreamFailed(_ reply: EdgeClient.Reply, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(reply.status == 502, sourceLocation: sourceLocation)
        #expect(reply.json["code"] as? String == "upstream_failed", sourceLocation: sourceLocation)
        #expect(reply.headers["content-type"] == "application/problem+json", sourceLocation: sourceLocation)
    }
}

/// A TLS server (certificate from the test CA) speaking HTTP/1.1 with keep-alive, answering every
/// request `{"ok":true}` and counting, per connection, the requests for `/probe`.
final class KeepAliveUpstream: Sendable {
    let port: Int
    private let counts: Counts

    private init(port: Int, counts: Counts) {
        self.port = port
        self.counts = counts
    }

    static func start(pki: TestPKI) async throws -> KeepAliveUpstream {
        let context = try SilentUpstream.serverContext(pki)
        let counts = Counts()
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Responder(counts: counts, connection: ObjectIdentifier(channel)))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        guard let port = listener.localAddress?.port else { throw TestSetupError("no port") }
        return KeepAliveUpstream(port: port, counts: counts)
    }

    /// Requests for `/probe` so far, per connection.
    final class Counts: Sendable {
        let probes = Mutex<[ObjectIdentifier: Int]>([:])
        let endlessClosed = Atomic<Int>(0)
    }

    /// Connections that were streaming `/endless` when they closed.
    var endlessStreamsClosed: Int { counts.endlessClosed.load(ordering: .relaxed) }

    /// How many `/probe` requests arrived and on how many connections.
    var probes: (requests: Int, connections: Int) {
        counts.probes.withLock { ($0.values.reduce(0, +), $0.count) }
    }

    final class Responder: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let counts: Counts
        let connection: ObjectIdentifier

        init(counts: Counts, connection: ObjectIdentifier) {
            self.counts = counts
            self.connection = connection
        }

        /// 200 KiB of a pattern, larger than ``EdgeProxy/heldWholeBytes``.
        static let large = Data((0..<200 * 1024).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 9) })
        private var path = ""

        func channelInactive(context: ChannelHandlerContext) {
            if path == "/endless" { counts.endlessClosed.add(1, ordering: .relaxed) }
            context.fireChannelInactive()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                path = head.uri
                if head.uri == "/probe" { counts.probes.withLock { $0[connection, default: 0] += 1 } }
            case .body:
                break
            case .end where path == "/short":
                // A length the service never delivers: ten bytes of a hundred, then the connection ends.
                let headers = HTTPHeaders([("Content-Type", "application/json"), ("Content-Length", "100")])
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
                let channel = context.channel
                context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: #"{"ok":tru"#)))))
                    .whenComplete { _ in channel.close(promise: nil) }
            case .end where path == "/reset":
                // The same, ended by a reset (SO_LINGER 0) instead of a clean close.
                let headers = HTTPHeaders([("Content-Type", "application/json"), ("Content-Length", "100")])
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
                let channel = context.channel
                context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: #"{"ok":tru"#))))).whenComplete { _ in
                    guard let socket = channel as? any SocketOptionProvider else { return channel.close(promise: nil) }
                    socket.setSoLinger(linger(l_onoff: 1, l_linger: 0)).whenComplete { _ in channel.close(promise: nil) }
                }
            case .end where path == "/stall":
                // Ten bytes of a hundred, then nothing more, the connection left open.
                let headers = HTTPHeaders([("Content-Type", "application/json"), ("Content-Length", "100")])
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: #"{"ok":tru"#)))), promise: nil)
            case .end where path == "/endless":
                // 100 MiB announced, 16 KiB every 10 ms while the connection lasts.
                let headers = HTTPHeaders([("Content-Type", "application/octet-stream"), ("Content-Length", "\(100 << 20)")])
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
                let piece = ByteBuffer(repeating: 0x61, count: 16 * 1024)
                let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
                context.eventLoop.scheduleRepeatedTask(initialDelay: .milliseconds(10), delay: .milliseconds(10)) { task in
                    let context = bound.value
                    guard context.channel.isActive else { return task.cancel() }
                    context.writeAndFlush(NIOAny(HTTPServerResponsePart.body(.byteBuffer(piece))), promise: nil)
                }
            case .end where path == "/large":
                // Past what the edge holds whole: streamed to the client, in pieces of 16 KiB.
                let headers = HTTPHeaders([("Content-Type", "application/octet-stream"), ("Content-Length", "\(Self.large.count)")])
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
                for start in stride(from: 0, to: Self.large.count, by: 16 * 1024) {
                    let piece = Self.large[start..<min(start + 16 * 1024, Self.large.count)]
                    context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: piece)))), promise: nil)
                }
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            case .end:
                let body = ByteBuffer(string: #"{"ok":true}"#)
                var headers = HTTPHeaders([("Content-Type", "application/json"), ("Content-Length", "\(body.readableBytes)")])
                headers.add(name: "Connection", value: "keep-alive")
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}
