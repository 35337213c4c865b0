import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// A TLS server (certificate from the test CA) that completes handshakes, reads whatever arrives
/// and never answers: a caller that waits for it waits until its own timeout.
final class SilentUpstream: Sendable {
    let port: Int
    private let listener: any Channel
    private let accepted: Accepted

    private init(port: Int, listener: any Channel, accepted: Accepted) {
        self.port = port
        self.listener = listener
        self.accepted = accepted
    }

    static func start(pki: TestPKI) async throws -> SilentUpstream {
        let context = try SilentUpstream.serverContext(pki)
        let accepted = Accepted()
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                accepted.channels.withLock { $0.append(channel) }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                }
            }
            // A test's port (not an ephemeral one), so another service can take it over after `stop()`.
            .bind(host: "127.0.0.1", port: try RunningService.freePort()).get()
        guard let port = listener.localAddress?.port else { throw TestSetupError("no port") }
        return SilentUpstream(port: port, listener: listener, accepted: accepted)
    }

    /// The connections the listener took.
    private final class Accepted: Sendable {
        let channels = Mutex<[any Channel]>([])
    }

    /// The TLS context of a test server posing as a service (status, eu): its certificate is
    /// from the test CA, so the gateway's upstream checks accept it.
    static func serverContext(_ pki: TestPKI) throws -> NIOSSLContext {
        let files = try pki.files(for: .service(.status, EdgeFixture.eu))
        return try NIOSSLContext(configuration: TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(files.certificatePath).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: files.privateKeyPath, format: .pem))
        ))
    }

    /// How many connections it has taken so far.
    var connections: Int { accepted.channels.withLock { $0.count } }

    /// Closes the listener and every connection it took, so the port can serve something else.
    func stop() async {
        try? await listener.close()
        for channel in accepted.channels.withLock({ $0 }) { try? await channel.close() }
    }
}
