import Foundation
@testable import Gateway
import NIOCore
import NIOPosix
import NIOSSL
import RampartCore
import RampartSecurity
import RampartStorage
import Testing

/// Time and connection limits, against gateways of their own (1 s to read a head, 1 s between
/// body pieces, 1.5 s idle, 1 s for a service's answer; 4 connections per address) so the suite's shared
/// edge is not disturbed.
@Suite("Gateway: edge time and connection limits", .serialized)
struct GatewayEdgeLimitsTests {
    struct Limited: Sendable {
        let pki: TestPKI
        let httpsPort: Int
    }

    static let shared = Task<Limited, any Error> {
        let pki = try TestPKI()
        // eu's status service is a TLS server that reads requests and never answers.
        let silent = try await SilentUpstream.start(pki: pki).port
        let endpoints: [String: Any] = ["regions": ["eu": ["status": "https://127.0.0.1:\(silent)"], "us": [String: String]()]]
        let (port, _) = try await EdgeFixture.startGateway(
            pki: pki, signingKey: .generate(), endpoints: endpoints,
            policy: try EdgeFixture.policy(
                headerTimeoutMilliseconds: 1000, bodyTimeoutMilliseconds: 1000, idleTimeoutMilliseconds: 1500, responseTimeoutMilliseconds: 1000, connectionsPerIP: 4
            ),
            accessLog: AccessLog(sink: .init { _ in })
        )
        return Limited(pki: pki, httpsPort: port)
    }

    @Test func aKeptAliveConnectionIsClosedAfterTheIdleTimeout() async throws {
        let edge = try await Self.shared.value
        // One request on a kept-alive connection; then nothing: the server closes after 1.5 s idle.
        // A connection whose handshake and head took longer than the 1-s head timeout (the browser
        // suite can load the machine that much) is cut before any answer: then it is tried again.
        var output = "", elapsed = Duration.zero
        for _ in 1...3 where output.isEmpty {
            let start = ContinuousClock.now
            output = try await EdgeClient.raw(port: edge.httpsPort, serverName: "status.localhost", ca: edge.pki.caPath,
                                              request: "GET /.well-known/security.txt HTTP/1.1\r\nHost: status.localhost\r\n\r\n")
            elapsed = start.duration(to: .now)
        }
        #expect(output.hasPrefix("HTTP/1.1 200"))
        // The client gives up after 10 s by itself: ending well before that means the server
        // closed the idle connection (starting the client's TLS costs seconds in a busy suite).
        #expect(elapsed >= .milliseconds(1400) && elapsed < .seconds(9), "\(elapsed)")
    }

    @Test func aServiceThatDoesNotAnswerInTimeIs504() async throws {
        let edge = try await Self.shared.value
        let start = ContinuousClock.now
        let reply = try await EdgeClient.request("https://status.localhost:\(edge.httpsPort)/", ca: edge.pki.caPath)
        #expect(reply.status == 504)
        #expect(reply.json["code"] as? String == "upstream_timeout")
        #expect(reply.headers["content-type"] == "application/problem+json")
        #expect(start.duration(to: .now) < .seconds(5))
    }

    func connect(_ port: Int) async throws -> any Channel {
        try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: port).get()
    }

    /// Whether `channel` is closed by the other side within `limit`.
    func closes(_ channel: any Channel, within limit: Duration) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while channel.isActive, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        return !channel.isActive
    }

    @Test func aSilentConnectionIsCutOffAfterTheHeaderReadTimeout() async throws {
        let edge = try await Self.shared.value
        let start = ContinuousClock.now
        let channel = try await connect(edge.httpsPort)
        #expect(await closes(channel, within: .seconds(3)))
        #expect(start.duration(to: .now) >= .milliseconds(900))
    }

    @Test func aClientDribblingItsHeadIsCutOff() async throws {
        let edge = try await Self.shared.value
        let client = try Subprocess("/usr/bin/openssl", ["s_client", "-quiet", "-connect", "127.0.0.1:\(edge.httpsPort)", "-servername", "acme.eu.localhost"])
            .start(input: .pipe)
        let start = ContinuousClock.now
        // One header line every 200 ms: the head never completes; the 1 s header timer ends it.
        let lines = ["GET /api/v1/me HTTP/1.1\r\n", "Host: acme.eu.localhost\r\n"] + (0..<20).map { "X-Slow-\($0): 1\r\n" }
        for line in lines where client.isRunning {
            client.write(Data(line.utf8))
            try await Task.sleep(for: .milliseconds(200))
        }
        let cutOffAfter = start.duration(to: .now)
        client.terminate()
        _ = await client.wait()
        #expect(cutOffAfter < .milliseconds(3500), "the slow client was not cut off (\(cutOffAfter))")
    }

    @Test func aClientPausingInItsBodyIsCutOff() async throws {
        let edge = try await Self.shared.value
        let elapsed = try await dribble(port: edge.httpsPort, pieces: [
            "POST /api/v1/me/password HTTP/1.1\r\nHost: acme.eu.localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
        ] + Array(repeating: "x", count: 10), every: .milliseconds(1500))
        // Ten pieces 1.5 s apart would take 15 s; cut off after the first 1 s pause (plus TLS set-up
        // on a loaded machine, which the full suite makes slow).
        #expect(elapsed < .milliseconds(6000), "the slow body was not cut off (\(elapsed))")
        // Steady pieces at more than the minimum rate (500 bytes a second) keep it going.
        let steady = try await dribble(port: edge.httpsPort, pieces: [
            "POST /api/v1/me/password HTTP/1.1\r\nHost: acme.eu.localhost\r\nContent-Type: application/json\r\nContent-Length: 1601\r\n\r\n{",
        ] + Array(repeating: String(repeating: "x", count: 200), count: 8), every: .milliseconds(300))
        #expect(steady >= .milliseconds(2600), "a steady body was cut off (\(steady))")
    }

    /// A body that never pauses long but arrives a byte at a time falls below the minimum rate
    /// and is cut off once the first body-read timeout (1 s here) has passed.
    @Test func aClientSendingItsBodyAByteAtATimeIsCutOff() async throws {
        let edge = try await Self.shared.value
        let elapsed = try await dribble(port: edge.httpsPort, pieces: [
            "POST /api/v1/me/password HTTP/1.1\r\nHost: acme.eu.localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
        ] + Array(repeating: "x", count: 40), every: .milliseconds(250))
        // Forty pieces 250 ms apart would take 10 s; no pause reaches 1 s.
        #expect(elapsed < .milliseconds(6000), "the byte-a-time body was not cut off (\(elapsed))")
    }

    /// The edge answers a request before its body has arrived (an unknown route is 404 at once);
    /// once the rest of the body came, the kept-alive connection meets the idle timeout like any.
    @Test func aConnectionAnsweredBeforeItsBodyEndedStillMeetsTheIdleTimeout() async throws {
        let edge = try await Self.shared.value
        let client = try await TLSReader.connect(port: edge.httpsPort, serverName: "acme.eu.localhost", ca: edge.pki.caPath)
        try await client.send("POST /no-such-route HTTP/1.1\r\nHost: acme.eu.localhost\r\nContent-Length: 2\r\n\r\n")
        for _ in 0..<100 where !String(decoding: client.bytes, as: UTF8.self).contains("\r\n\r\n") { try await Task.sleep(for: .milliseconds(20)) }
        #expect(String(decoding: client.bytes, as: UTF8.self).hasPrefix("HTTP/1.1 404"))
        try await client.send("ab")
        let sent = ContinuousClock.now
        #expect(await client.waitUntilClosed(within: .seconds(8)), "the connection was held open after its exchange")
        #expect(sent.duration(to: .now) >= .milliseconds(1300), "closed before the idle timeout")
    }

    /// The same over HTTP/2: a stream the edge answered while the client keeps it open (no
    /// END_STREAM, no body) is reset after the body-read timeout instead of living on.
    @Test func anHTTP2StreamLeftOpenAfterItsAnswerIsReset() async throws {
        let edge = try await Self.shared.value
        let client = try await TLSReader.connect(port: edge.httpsPort, serverName: "acme.eu.localhost", ca: edge.pki.caPath, alpn: "h2")
        try await client.send(RawHTTP2.preface + RawHTTP2.post("/no-such-route", authority: "acme.eu.localhost", stream: 1))
        var frames: [RawHTTP2.Frame] = []
        for _ in 0..<200 where !frames.contains(where: { $0.type == RawHTTP2.resetStream && $0.stream == 1 }) {
            frames = RawHTTP2.frames(in: client.bytes)
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(frames.contains { $0.type == RawHTTP2.headers && $0.stream == 1 }, "answered")
        #expect(frames.contains { $0.type == RawHTTP2.resetStream && $0.stream == 1 }, "the open stream was never ended")
        try? await client.channel.close()
    }

    /// Sends `pieces` over TLS one every `every`, until the server closes; returns how long that took.
    func dribble(port: Int, pieces: [String], every: Duration) async throws -> Duration {
        let client = try Subprocess("/usr/bin/openssl", ["s_client", "-quiet", "-connect", "127.0.0.1:\(port)", "-servername", "acme.eu.localhost"])
            .start(input: .pipe)
        let start = ContinuousClock.now
        for piece in pieces where client.isRunning {
            client.write(Data(piece.utf8))
            try await Task.sleep(for: every)
        }
        let elapsed = start.duration(to: .now)
        client.terminate()
        _ = await client.wait()
        return elapsed
    }

    /// A gateway allowing 4 connections per address and 10 s to read a head, so idle test
    /// connections stay open however slow the machine is.
    static let fourConnections = Task<(port: Int, pki: TestPKI, plainPort: Int), any Error> {
        let endpoints: [String: Any] = ["regions": ["eu": [String: String](), "us": [String: String]()]]
        let pki = try TestPKI()
        let (port, plainPort) = try await EdgeFixture.startGateway(
            pki: pki, signingKey: .generate(), endpoints: endpoints,
            policy: try EdgeFixture.policy(connectionsPerIP: 4), accessLog: AccessLog(sink: .init { _ in })
        )
        return (port, pki, plainPort)
    }

    /// Connections their clients ended (curl closes its side after its answer) free their places:
    /// eight one-request clients in turn, under a limit of four, are all answered.
    @Test func connectionsTheirClientsEndedFreeTheirPlaces() async throws {
        let (port, pki, _) = try await Self.fourConnections.value
        for http2 in [false, true] {
            for _ in 0..<8 {
                let reply = try await EdgeClient.request("https://status.localhost:\(port)/.well-known/security.txt", ca: pki.caPath, http2: http2)
                #expect(reply.status == 200)
            }
        }
    }

    @Test func connectionsPerAddressAreBounded() async throws {
        let port = try await Self.fourConnections.value.port
        // Five at once from one address: the server accepts them in its own order and closes
        // whichever comes fifth at once; four stay open.
        var channels: [any Channel] = []
        for _ in 0..<5 { channels.append(try await connect(port)) }
        var closed = 0
        for _ in 0..<60 where closed == 0 {
            try await Task.sleep(for: .milliseconds(50))
            closed = channels.filter { !$0.isActive }.count
        }
        try await Task.sleep(for: .milliseconds(200))
        #expect(channels.filter { !$0.isActive }.count == 1)
        for channel in channels { try? await channel.close() }
        try await Task.sleep(for: .milliseconds(200))
        // Closed connections free their places.
        let again = try await connect(port)
        #expect(await !closes(again, within: .milliseconds(500)))
        try? await again.close()
    }

    /// The plain-HTTP listener (which only redirects) counts against the same budget per
    /// address: with four connections open to it, a fifth to either listener is closed at once.
    @Test func thePlainHTTPListenerSharesTheLimitPerAddress() async throws {
        let (port, _, plainPort) = try await Self.fourConnections.value
        var plain: [any Channel] = []
        for _ in 0..<4 { plain.append(try await connect(plainPort)) }
        try await Task.sleep(for: .milliseconds(200))
        #expect(plain.allSatisfy { $0.isActive })
        let fifthPlain = try await connect(plainPort)
        #expect(await closes(fifthPlain, within: .seconds(3)))
        let fifthPublic = try await connect(port)
        #expect(await closes(fifthPublic, within: .seconds(3)))
        for channel in plain { try? await channel.close() }
        try await Task.sleep(for: .milliseconds(200))
        let again = try await connect(plainPort)
        #expect(await !closes(again, within: .milliseconds(500)))
        try? await again.close()
    }
}
