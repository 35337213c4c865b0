import ArgumentParser
import Foundation
import RampartCore
import RampartSecurity
import RampartTransport

/// `rampartctl health`: every instance's `/healthz`, over mutual TLS with an operator certificate.
struct HealthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "Check /healthz of every service instance listed in endpoints.json."
    )

    @Option(help: "The endpoints.json file.") var endpoints: String
    @Option(help: "CA certificate.") var ca: String
    @Option(help: "Operator certificate.") var cert: String
    @Option(help: "Operator private key.") var key: String
    @Option(help: "Keep trying for this many seconds until every instance answers.") var wait: Int = 0

    func run() async throws {
        guard let data = FileManager.default.contents(atPath: endpoints),
              let document = try? JSONDecoder().decode(Endpoints.self, from: data)
        else { throw ControlError("cannot read \(endpoints)") }
        let tls = try InternalTLS(files: .init(caCertificatePath: ca, certificatePath: cert, privateKeyPath: key))
        let client = InternalClient(tls: tls)
        let deadline = ContinuousClock.now + .seconds(wait)
        var failing: [String] = []
        repeat {
            failing = []
            for (region, services) in document.regions.sorted(by: { $0.key < $1.key }) {
                for (service, url) in services.sorted(by: { $0.key < $1.key }) {
                    let reply = try? await client.send(url: url + "/healthz")
                    if reply?.status != 200 { failing.append("\(service)-\(region)") }
                }
            }
            if failing.isEmpty || ContinuousClock.now >= deadline { break }
            try await Task.sleep(for: .milliseconds(500))
        } while true
        try await client.shutdown()
        guard failing.isEmpty else { throw ControlError("not healthy: \(failing.joined(separator: ", "))") }
        print("health: all \(document.regions.values.map(\.count).reduce(0, +)) instances healthy")
    }

    struct Endpoints: Decodable {
        var regions: [String: [String: String]]
    }
}
