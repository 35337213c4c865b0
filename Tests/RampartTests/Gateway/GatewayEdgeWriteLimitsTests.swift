import Foundation
@testable import Gateway
import NIOCore
import NIOPosix
import NIOSSL
import RampartCore
import Synchronization
import Testing

/// The response side's limits, against a gateway of its own: a client that stops reading a
/// response is cut off after the write timeout (1 s here), and HTTP/2 connections are told and
/// held to `max_concurrent_streams` (3 here). eu's status instance answers every request with
/// a 32 MiB body, more than loopback's socket buffers hold.
@Suite("Gateway: edge write timeout and HTTP/2 streams", .serialized)
struct GatewayEdgeWriteLimitsTests {
    static let bodyBytes = 32 << 20

    struct Edge: Sendable {
        let pki: TestPKI
        let port: Int
    }

    static let shared = Task<Edge, any Error> {
        let pki = try TestPKI()
        let bulk = try await BulkUpstream.start(pki: pki, bodyBytes: bodyBytes)
        let endpoints: [String: Any] = ["regions": ["eu": ["status": "https://127.0.0.1:\(bulk)"], "us": [String: String]()]]
        let (port, _) = try await EdgeFixture.startGateway(
            pki: pki, signingKey: .generate(), endpoints: endpoints,
            policy: try EdgeFixture.policy(writeTimeoutMilliseconds: 8000, maxConcurrentStreams: 3), accessLog: AccessLog(sink: .init { _ in })
        )
        return Edge(pki: pki, port: port)
    }

    @Test func aClientThatStopsReadingAResponseIsCutOff() async throws {
        let edge = try await Self.shared.value
        let client = try await TLSReader.connect(port: edge.port, serverName: "status.localhost", ca: edge.pki.caPath)
        try await client.send("GET / HTTP/1.1\r\nHost: status.localhost\r\n\r\n")
        // Take nothing for 20 s: the edge's socket buffer fills, its channel stays unwritable
        // longer than the write timeout (8 s: the suite shares two cores and one event loop group
        // with every other test, so a reader that keeps reading can stall for seconds).
        try await client.channel.setOption(ChannelOptions.autoRead, value: false).get()
        try await Task.sleep(for: .seconds(20))
        try await client.channel.setOption(ChannelOptions.autoRead, value: true).get()
        client.channel.read()
        // What was buffered before the cut arrives, then the end: far less than the whole body.
        let closed = await client.waitUntilClosed(within: .seconds(40))
        #expect(closed, "the connection of a client that stopped reading was not closed")
        #expect(client.received < Self.bodyBytes, "received \(client.received) bytes of \(Self.bodyBytes)")
    }

    @Test func aClientThatKeepsReadingGetsTheWholeResponse() async throws {
        let edge = try await Self.shared.value
        let client = try await TLSReader.connect(port: edge.port, serverName: "status.localhost", ca: edge.pki.caPath)
        try await client.send("GET / HTTP/1.1\r\nHost: status.localhost\r\nConnection: close\r\n\r\n")
        #expect(await client.waitUntilClosed(within: .seconds(60)))
        #expect(client.received > Self.bodyBytes)
    }

    @Test func http2StreamsBeyondTheLimitAreRefusedAndTheLimitIsAnnounced() async throws {
        let edge = try await Self.shared.value
        let client = try await TLSReader.connect(port: edge.port, serverName: "status.localhost", ca: edge.pki.caPath, alpn: "h2")
        // Six streams at once, each for a response too large to finish (the client never opens
        // its flow-control window), so all stay open.
        let streams: [UInt32] = [1, 3, 5, 7, 9, 11]
        try await client.send(RawHTTP2.preface + streams.flatMap { RawHTTP2.get("/", authority: "status.localhost", stream: $0) })
        var frames: [RawHTTP2.Frame] = []
        for _ in 0..<200 {
            frames = RawHTTP2.frames(in: client.bytes)
            if frames.filter(\.isRefusal).count >= 3, frames.filter({ $0.type == RawHTTP2.headers }).count >= 3 { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(Set(frames.filter(\.isRefusal).map(\.stream)) == [7, 9, 11])
        #expect(Set(frames.filter { $0.type == RawHTTP2.headers }.map(\.stream)) == [1, 3, 5])
        // Besides NIOHTTP2's initial SETTINGS (100 streams), the edge's own value.
        #expect(frames.contains { $0.type == RawHTTP2.settings && $0.flags & 1 == 0 && $0.setting(0x3) == 3 })
        try? await client.channel.close()
    }

    @Test func compliantHTTP2ClientsGetEveryParallelRequestAnswered() async throws {
        let edge = try await Self.shared.value
        let url = "https://status.localhost:\(edge.port)/.well-known/security.txt"
        // Eight requests multiplexed on one connection limited to three streams: curl retries
        // refused streams and keeps to the announced limit.
        let (status, output, errors) = try await EdgeClient.run("/usr/bin/curl", [
            "-sS", "--http2", "--parallel", "--parallel-max", "8", "--resolve", "status.localhost:\(edge.port):127.0.0.1",
            "--cacert", edge.pki.caPath, "-w", "%{http_code}\\n",
        ] + Array(repeating: ["-o", "/dev/null", url], count: 8).flatMap { $0 })
        #expect(status == 0, "\(errors.suffix(2000))")
        #expect(String(decoding: output, as: UTF8.self).split(separator: "\n") == Array(repeating: "200", count: 8))
    }
}

/// A TLS server (certificate from the test CA) that answers whatever arrives with one response
/// of `bodyBytes` zero bytes, written as fast as the connection takes it, then closes.
enum BulkUpstream {
    static func start(pki: TestPKI, bodyBytes: Int) async throws -> Int {
        let context = try SilentUpstream.serverContext(pki)
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    try channel.pipeline.syncOperations.addHandler(Responder(bodyBytes: bodyBytes))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        guard let port = server.localAddress?.port else { throw TestSetupError("no port") }
        return port
    }

    /// Writes the response in 1 MiB pieces, each when the channel can take it.
    final class Responder: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        let bodyBytes: Int
        var remaining = -1
        let piece = ByteBuffer(repeating: 0, count: 1 << 20)

        init(bodyBytes: Int) { self.bodyBytes = bodyBytes }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard remaining < 0 else { return }
            remaining = bodyBytes
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: \(bodyBytes)\r\nConnection: close\r\n\r\n"
            context.write(wrapOutboundOut(ByteBuffer(string: head)), promise: nil)
            writeMore(context)
        }

        func channelWritabilityChanged(context: ChannelHandlerContext) {
            writeMore(context)
            context.fireChannelWritabilityChanged()
        }

        func writeMore(_ context: ChannelHandlerContext) {
            while remaining > 0, context.channel.isWritable {
                let count = min(remaining, piece.readableBytes)
                remaining -= count
                let written = context.writeAndFlush(wrapOutboundOut(piece.getSlice(at: 0, length: count) ?? piece))
                if remaining == 0 {
                    let channel = context.channel
                    written.whenComplete { _ in channel.close(promise: nil) }
                }
            }
        }
    }
}

/// HTTP/2 spoken by hand, just enough to see which frames the edge sends: the client preface
/// with empty SETTINGS, GET requests as HEADERS frames (HPACK static-table entries and literals),
/// and frames parsed back.
enum RawHTTP2 {
    static let headers: UInt8 = 0x1
    static let resetStream: UInt8 = 0x3
    static let settings: UInt8 = 0x4

    struct Frame {
        let type: UInt8
        let flags: UInt8
        let stream: UInt32
        let payload: [UInt8]

        /// RST_STREAM with REFUSED_STREAM (0x7).
        var isRefusal: Bool { type == RawHTTP2.resetStream && payload == [0, 0, 0, 7] }

        /// The value of SETTINGS parameter `identifier`, if this frame sets it.
        func setting(_ identifier: UInt16) -> UInt32? {
            stride(from: 0, to: payload.count - 5, by: 6).lazy.compactMap { offset -> UInt32? in
                guard UInt16(payload[offset]) << 8 | UInt16(payload[offset + 1]) == identifier else { return nil }
                return payload[(offset + 2)..<(offset + 6)].reduce(0) { $0 << 8 | UInt32($1) }
            }.first
        }
    }

    static var preface: [UInt8] { Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8) + frame(settings, flags: 0, stream: 0, payload: []) }

    /// `GET path` on `stream`, ending the stream (no body).
    static func get(_ path: String, authority: String, stream: UInt32) -> [UInt8] {
        // :method GET, :scheme https (static table 2 and 7); :path and :authority as literals
        // without indexing (name indexes 4 and 1).
        let block: [UInt8] = [0x82, 0x87, 0x04, UInt8(path.utf8.count)] + Array(path.utf8) + [0x01, UInt8(authority.utf8.count)] + Array(authority.utf8)
        return frame(headers, flags: 0x5, stream: stream, payload: block)
    }

    /// `POST path` on `stream`, leaving the stream open (its body would follow).
    static func post(_ path: String, authority: String, stream: UInt32) -> [UInt8] {
        // :method POST, :scheme https (static table 3 and 7).
        let block: [UInt8] = [0x83, 0x87, 0x04, UInt8(path.utf8.count)] + Array(path.utf8) + [0x01, UInt8(authority.utf8.count)] + Array(authority.utf8)
        return frame(headers, flags: 0x4, stream: stream, payload: block)
    }

    static func frame(_ type: UInt8, flags: UInt8, stream: UInt32, payload: [UInt8]) -> [UInt8] {
        let length = payload.count
        return [UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF), type, flags,
                UInt8(stream >> 24 & 0x7F), UInt8(stream >> 16 & 0xFF), UInt8(stream >> 8 & 0xFF), UInt8(stream & 0xFF)] + payload
    }

    /// The complete frames in `bytes`.
    static func frames(in bytes: [UInt8]) -> [Frame] {
        var frames: [Frame] = []
        var offset = 0
        while offset + 9 <= bytes.count {
            let length = Int(bytes[offset]) << 16 | Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2])
            guard offset + 9 + length <= bytes.count else { break }
            let stream = bytes[(offset + 5)..<(offset + 9)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) } & 0x7FFF_FFFF
            frames.append(Frame(type: bytes[offset + 3], flags: bytes[offset + 4], stream: stream, payload: Array(bytes[(offset + 9)..<(offset + 9 + length)])))
            offset += 9 + length
        }
        return frames
    }
}

/// A TLS client that counts the bytes it receives (keeping the first MiB) and notices when the
/// server closes.
final class TLSReader: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer

    let channel: any Channel
    private let count = Atomic<Int>(0)
    private let ended = Atomic<Bool>(false)
    private let kept = Mutex<[UInt8]>([])

    var received: Int { count.load(ordering: .relaxed) }
    /// The first MiB received.
    var bytes: [UInt8] { kept.withLock { $0 } }

    private init(channel: any Channel) {
        self.channel = channel
    }

    static func connect(port: Int, serverName: String, ca: String, alpn: String = "http/1.1") async throws -> TLSReader {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(ca)
        tls.applicationProtocols = [alpn]
        let context = try NIOSSLContext(configuration: tls)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: context, serverHostname: serverName))
                    try channel.pipeline.syncOperations.addHandler(TLSReader(channel: channel))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return try await channel.pipeline.handler(type: TLSReader.self).get()
    }

    func send(_ text: String) async throws {
        try await send(Array(text.utf8))
    }

    func send(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes)).get()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        count.add(buffer.readableBytes, ordering: .relaxed)
        kept.withLock { kept in
            if kept.count < 1 << 20 { kept += buffer.readableBytesView.prefix((1 << 20) - kept.count) }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        ended.store(true, ordering: .relaxed)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    /// Whether the connection ended within `limit`.
    func waitUntilClosed(within limit: Duration) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while !ended.load(ordering: .relaxed), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        return ended.load(ordering: .relaxed)
    }
}
