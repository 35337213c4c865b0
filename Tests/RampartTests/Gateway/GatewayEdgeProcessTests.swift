import Foundation
@testable import Gateway
import RampartCore
import RampartSecurity
import RampartStorage
import RampartTransport
import Testing

/// The `rampart-gateway` executable with its public edge, configured as `make run` configures it
/// (edge keys in the configuration file): serves, logs JSON access lines, stops on SIGTERM.
@Suite("Gateway: edge process")
struct GatewayEdgeProcessTests {
    @Test func theExecutableServesTheEdgeLogsAccessLinesAndStopsOnSIGTERM() async throws {
        let pki = try TestPKI()
        let endpoints: [String: Any] = ["regions": ["eu": [String: String](), "us": [String: String]()]]
        let (values, (internalPort, httpsPort, _)) = try EdgeFixture.gatewayValues(pki: pki, signingKey: .generate(), endpoints: endpoints, policy: try EdgeFixture.policy())
        // The edge keys from a configuration file, the rest from the environment.
        let edgeKeys = values.filter { ServiceConfig.gatewayEdgeKeys.contains($0.key) }
        let file = pki.directory.appendingPathComponent("gateway-eu.env")
        try edgeKeys.map { "\($0.key)=\($0.value)" }.joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
        var environment = values.filter { !ServiceConfig.gatewayEdgeKeys.contains($0.key) }
        environment["RAMPART_CONFIG_FILE"] = file.path
        environment["RAMPART_LOG_LEVEL"] = "info"

        var replies: [EdgeClient.Reply] = []
        var metrics = ""
        let outcome = try await ServiceProcessTests.run("rampart-gateway", environment: environment) { child in
            try await RunningService.waitUntilListening(port: httpsPort)
            replies.append(try await EdgeClient.request("https://status.localhost:\(httpsPort)/.well-known/security.txt", ca: pki.caPath))
            replies.append(try await EdgeClient.request("https://acme.eu.localhost:\(httpsPort)/api/v1/exports?token=hidden", ca: pki.caPath))
            // The internal listener's /metrics (operators only) counts edge requests by route prefix.
            let client = InternalClient(tls: try InternalTLS(files: try pki.files(for: .operator("tests"))))
            metrics = (try? await client.send(url: "https://127.0.0.1:\(internalPort)/metrics")).map { String(decoding: $0.body, as: UTF8.self) } ?? ""
            try? await client.shutdown()
            child.terminate()
        }
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(replies.map(\.status) == [200, 401])
        let lines = outcome.stdout.split(separator: "\n")
        for line in lines {
            #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) != nil, "not JSON: \(line)")
        }
        let access = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }.filter { $0["msg"] as? String == "edge.access" }
        #expect(access.count == 2)
        #expect(access.map { $0["http.status"] as? Int } == [200, 401])
        #expect(access.last?["http.route"] as? String == "/api/v1/exports")
        #expect(!outcome.stdout.contains("hidden"))
        #expect(lines.contains { $0.contains("\"edge.configured\"") })
        // The synchronous main installed NIO's event loops as Swift's global executor in time.
        #expect(lines.contains { $0.contains("\"gateway.executor\"") && $0.contains("\"nio-event-loops\"") })
        #expect(metrics.contains(#"route="edge:/api/v1/exports",status="401""#), "\(metrics.prefix(2000))")
    }
}
