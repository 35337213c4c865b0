import ArgumentParser
import Foundation
import RampartCore

/// `rampartctl local seed`: the demo tenants of a local installation, each with an admin, an agent
/// and a customer whose passwords are generated here and written to `credentials.json` (0600).
struct LocalSeedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "seed", abstract: "Create the demo tenants and write credentials.json (idempotent).")

    @Option(help: "The run directory (absolute).") var runDir: String

    /// acme in eu, globex in us, initech in uk.
    static let tenants: [(slug: String, name: String, region: String)] = [
        ("acme", "Acme Corporation", "eu"), ("globex", "Globex", "us"), ("initech", "Initech", "uk"),
    ]

    struct Credentials: Codable {
        struct Tenant: Codable {
            var slug: String
            var region: String
            var users: [User]
        }

        struct User: Codable {
            var role: String
            var email: String
            var password: String
        }

        var tenants: [Tenant]
    }

    func run() async throws {
        let run = URL(fileURLWithPath: runDir)
        let path = run.appendingPathComponent("credentials.json").path
        var credentials = (FileManager.default.contents(atPath: path)).flatMap { try? JSONDecoder().decode(Credentials.self, from: $0) } ?? Credentials(tenants: [])
        var options = try OperatorOptions.parse([])
        options.endpoints = run.appendingPathComponent("endpoints.json").path
        options.ca = run.appendingPathComponent("pki/ca.crt").path
        options.cert = run.appendingPathComponent("pki/operator-local.crt").path
        options.key = run.appendingPathComponent("pki/operator-local.key").path
        try await OperatorClient.with(options) { client in
            let regions = client.endpoints.keys
            for demo in Self.tenants where regions.contains(demo.region) && !credentials.tenants.contains(where: { $0.slug == demo.slug }) {
                _ = try await client.call(.POST, .identity, region: demo.region, path: "/internal/v1/operator/tenants",
                                          body: ["slug": demo.slug, "display_name": demo.name, "plan": "business"])
                var users: [Credentials.User] = []
                for (role, local, name) in [("admin", "admin", "Ada Admin"), ("agent", "agent", "Alex Agent"), ("customer", "customer", "Casey Customer")] {
                    let email = "\(local)@\(demo.slug).test"
                    let created = try await client.call(.POST, .identity, region: demo.region, path: "/internal/v1/operator/tenants/\(demo.slug)/users",
                                                        body: ["email": email, "name": name, "role": role])
                    guard let password = (created as? [String: Any])?["password"] as? String else { throw ControlError("identity returned no password for \(email)") }
                    users.append(.init(role: role, email: email, password: password))
                }
                credentials.tenants.append(.init(slug: demo.slug, region: demo.region, users: users))
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                try SecretFile.write(try encoder.encode(credentials), to: path)
            }
        }
        print("seed: \(credentials.tenants.count) demo tenant(s); credentials in \(path)")
    }
}
