import ArgumentParser
import Foundation
import NIOHTTP1
import RampartCore
import RampartTransport

/// `rampart-bench`: load generators for `make bench`, run against the local platform on loopback.
@main
struct RampartBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rampart-bench", abstract: "Benchmarks of the running local platform.",
        subcommands: [PrincipalResolution.self, AuditThroughput.self, TicketsBench.self]
    )
}

/// Principal resolutions per second: the gateway's call to identity for every request that
/// carries a credential, over mutual TLS, as the gateway makes it.
struct PrincipalResolution: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "principal", abstract: "Resolve one credential as fast as identity answers.")

    @Option(help: "Identity's internal URL.") var identity: String
    @Option(help: "The internal CA certificate.") var ca: String
    @Option(help: "A gateway certificate of the identity's region.") var cert: String
    @Option(help: "Its private key.") var key: String
    @Option(help: "The tenant slug the credential belongs to.") var tenant: String
    @Option(help: "A file holding the credential (an API key or access token).") var credentialFile: String
    @Option(help: "How long to run, in seconds.") var seconds: Int = 10
    @Option(help: "Requests in flight at once.") var concurrency: Int = 32

    func run() async throws {
        let credential = try String(contentsOfFile: credentialFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let client = InternalClient(tls: try InternalTLS(files: .init(caCertificatePath: ca, certificatePath: cert, privateKeyPath: key)))
        let body = Data(#"{"tenant":"\#(tenant)","credential":"\#(credential)","audience":"tickets","client_ip":"127.0.0.1"}"#.utf8)
        let url = identity + "/internal/v1/principal"
        // Warm the connection pool and check the credential works before measuring.
        let first = try await client.send(.POST, url: url, body: body)
        guard first.status == 200 else {
            try await client.shutdown()
            throw ValidationError("identity refused the credential (HTTP \(first.status))")
        }
        let result = try await Load.run(concurrency: concurrency, seconds: seconds) { _ in
            let reply = try await client.send(.POST, url: url, body: body)
            guard reply.status == 200 else { throw ValidationError("HTTP \(reply.status) during the run") }
        }
        try await client.shutdown()
        print(String(format: #"{"benchmark":"principal_resolution","requests":%d,"seconds":%.2f,"per_second":%.0f,"p50_ms":%.2f,"p99_ms":%.2f,"concurrency":%d}"#,
                     result.requests, result.seconds, result.perSecond, result.milliseconds(0.5), result.milliseconds(0.99), concurrency))
    }
}
