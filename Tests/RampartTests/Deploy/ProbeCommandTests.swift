import Foundation
import RampartCore
import RampartSecurity
import RampartStorage
import Testing

/// `rampartctl probe`, the Kubernetes exec probe: the instance's own certificate reads its own
/// health (the allow-list grants exactly that); another service's certificate does not.
@Suite("Probe command")
struct ProbeCommandTests {
    let eu = Region(rawValue: "eu")!

    /// `rampartctl probe <endpoint>` with only the configuration a container gives it; by default
    /// patient enough for a test service sharing a loaded machine with the whole suite.
    func probe(_ endpoint: String, tls: ServiceConfig.TLSFiles, port: Int, timeout: Int = 30) async throws -> Subprocess.Result {
        try await Subprocess("/usr/bin/env", [
            "-i", "RAMPART_TLS_CA=\(tls.caCertificatePath)", "RAMPART_TLS_CERT=\(tls.certificatePath)",
            "RAMPART_TLS_KEY=\(tls.privateKeyPath)", "RAMPART_LISTEN_PORT=\(port)",
            ServiceProcessTests.binDirectory.appendingPathComponent("rampartctl").path, "probe", endpoint, "--timeout", String(timeout),
        ]).run()
    }

    @Test func instanceReadsItsOwnHealthAndNoOtherServiceDoes() async throws {
        let pki = try TestPKI()
        try await RunningService.with(.gateway, region: eu, pki: pki, signingKey: .generate(), database: nil) { service in
            let port = try #require(URLComponents(string: service.baseURL)?.port)
            let own = try pki.files(for: .service(.gateway, eu))
            let alive = try await probe("/healthz", tls: own, port: port)
            #expect(alive.status == 0, "\(alive.errorOutput)")
            let ready = try await probe("/readyz", tls: own, port: port)
            #expect(ready.status == 0, "\(ready.errorOutput)")
            // Tickets may not read the gateway's health: the probe must not pass on its certificate.
            let other = try await probe("/healthz", tls: try pki.files(for: .service(.tickets, eu)), port: port)
            #expect(other.status != 0)
            #expect(other.errorOutput.contains("probe: /healthz answered 403"))
        }
    }

    @Test func nothingListeningFailsTheProbe() async throws {
        let pki = try TestPKI()
        let result = try await probe("/healthz", tls: try pki.files(for: .service(.identity, eu)), port: try RunningService.freePort(), timeout: 2)
        #expect(result.status != 0)
        #expect(result.errorOutput.contains("probe: /healthz did not answer"))
    }

    @Test func onlyHealthEndpointsMayBeProbed() async throws {
        let pki = try TestPKI()
        let result = try await probe("/metrics", tls: try pki.files(for: .service(.identity, eu)), port: 1)
        #expect(result.status != 0)
        #expect(!result.errorOutput.contains("answered"))
    }
}
