import ArgumentParser
import Foundation
import RampartCore
import RampartTransport

/// `rampartctl probe /readyz`: one health endpoint of the instance running beside it, called on
/// `localhost` with the instance's own certificate (its `RAMPART_TLS_*` and `RAMPART_LISTEN_PORT`,
/// from the environment or `RAMPART_CONFIG_FILE`). It is the Kubernetes exec probe: the kubelet
/// cannot present a client certificate, and the allow-list lets each service read its own health.
struct ProbeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Exit 0 when this container's service answers 200 on /healthz or /readyz."
    )

    enum Endpoint: String, ExpressibleByArgument, CaseIterable {
        case healthz = "/healthz"
        case readyz = "/readyz"
    }

    @Argument(help: "/healthz (alive) or /readyz (database reachable, migrations applied).") var endpoint: Endpoint
    // Within the manifests' probe timeout (12 s) by default, with room for a loaded node.
    @Option(help: "Seconds to wait for the connection (TLS included), and again for the answer.") var timeout: Int = 5

    func validate() throws {
        guard (1...60).contains(timeout) else { throw ValidationError("--timeout must be 1-60 seconds") }
    }

    func run() async throws {
        let source = try ConfigSource.load(knownKeys: ServiceConfig.keys)
        let files = ServiceConfig.TLSFiles(
            caCertificatePath: try source.required("RAMPART_TLS_CA"),
            certificatePath: try source.required("RAMPART_TLS_CERT"),
            privateKeyPath: try source.required("RAMPART_TLS_KEY")
        )
        let port = try source.required("RAMPART_LISTEN_PORT")
        let client = InternalClient(tls: try InternalTLS(files: files), timeout: .init(connect: .seconds(Int64(timeout)), read: .seconds(Int64(timeout))))
        let outcome: Result<InternalClient.Reply, any Error>
        do {
            outcome = .success(try await client.send(url: "https://localhost:\(port)\(endpoint.rawValue)", maximumBodyBytes: 16 * 1024))
        } catch {
            outcome = .failure(error)
        }
        try? await client.shutdown()
        switch outcome {
        case .success(let reply) where reply.status == 200: return
        case .success(let reply): throw ControlError("probe: \(endpoint.rawValue) answered \(reply.status)")
        case .failure(let error): throw ControlError("probe: \(endpoint.rawValue) did not answer (\(error))")
        }
    }
}
