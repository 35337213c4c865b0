import Foundation
import RampartCore
import RampartSecurity
@testable import Status
import RampartTransport
import Testing

@Suite("Status: allow-list rules and configuration")
struct StatusPolicyTests {
    let eu = Region(rawValue: "eu")!
    let us = Region(rawValue: "us")!

    @Test func statusInstancesReachEachOtherOnlyForReplication() throws {
        let shipped = try AllowList(contentsOf: RunningService.allowListPath)
        #expect(shipped.allows(.service(.status, us), method: "POST", path: "/internal/v1/replica/incidents", service: .status, region: eu))
        #expect(!shipped.allows(.service(.status, us), method: "GET", path: "/internal/v1/replica/incidents", service: .status, region: eu))
        #expect(!shipped.allows(.service(.status, us), method: "POST", path: "/internal/v1/operator/incidents", service: .status, region: eu))
        #expect(!shipped.allows(.service(.status, us), method: "POST", path: "/internal/v1/replica/incidents", service: .tickets, region: eu))
        #expect(!shipped.allows(.service(.tickets, eu), method: "POST", path: "/internal/v1/replica/incidents", service: .status, region: eu))
    }

    @Test func onlyOperatorsWriteIncidentsAndTheGatewayOnlyReads() throws {
        let shipped = try AllowList(contentsOf: RunningService.allowListPath)
        #expect(shipped.allows(.operator("alice"), method: "POST", path: "/internal/v1/operator/incidents", service: .status, region: eu))
        #expect(!shipped.allows(.operator("alice"), method: "DELETE", path: "/internal/v1/operator/incidents", service: .status, region: eu))
        #expect(!shipped.allows(.operator("alice"), method: "POST", path: "/internal/v1/replica/incidents", service: .status, region: eu))
        #expect(shipped.allows(.service(.gateway, eu), method: "GET", path: "/api/v2/summary.json", service: .status, region: eu))
        #expect(!shipped.allows(.service(.gateway, eu), method: "POST", path: "/api/v2/summary.json", service: .status, region: eu))
        // Another region's gateway may read the page (status failover; the data is public), never write.
        #expect(shipped.allows(.service(.gateway, us), method: "GET", path: "/", service: .status, region: eu))
        #expect(!shipped.allows(.service(.gateway, us), method: "POST", path: "/internal/v1/operator/incidents", service: .status, region: eu))
    }

    func settings(_ endpoints: [String: Any], extra: [String: String] = [:]) throws -> StatusSettings {
        let pki = try TestPKI()
        let files = try pki.files(for: .service(.status, eu))
        let path = pki.directory.appendingPathComponent("endpoints.json")
        try JSONSerialization.data(withJSONObject: ["regions": endpoints]).write(to: path)
        var values = [
            "RAMPART_REGION": "eu", "RAMPART_REGIONS": "eu,us", "RAMPART_LISTEN_PORT": "9105",
            "RAMPART_DATABASE_URL": "postgres://status:secret@127.0.0.1:1/rampart_eu",
            "RAMPART_TLS_CA": files.caCertificatePath, "RAMPART_TLS_CERT": files.certificatePath, "RAMPART_TLS_KEY": files.privateKeyPath,
            "RAMPART_ALLOWLIST": RunningService.allowListPath, "RAMPART_PRINCIPAL_KEYS": files.caCertificatePath,
            "RAMPART_STATUS_ENDPOINTS": path.path,
        ]
        values.merge(extra) { $1 }
        return try StatusSettings(config: try ServiceConfig(service: .status, source: ConfigSource(values: values)))
    }

    func region(_ base: Int) -> [String: String] {
        Dictionary(uniqueKeysWithValues: ServiceName.allCases.enumerated().map { ($1.rawValue, "https://127.0.0.1:\(base + $0)/") })
    }

    @Test func settingsNeedEveryInstanceOfEveryRegion() throws {
        let parsed = try settings(["eu": region(9100), "us": region(9110)])
        #expect(parsed.endpoints[us]?[.status] == "https://127.0.0.1:9115")
        #expect(parsed.probeInterval == .seconds(30))
        #expect(parsed.latencyThreshold == .seconds(1))
        #expect(parsed.confirmations == 2)
        #expect(parsed.publicURL == "https://status.localhost")

        #expect(throws: ConfigError(key: "RAMPART_STATUS_ENDPOINTS", reason: "lists no instances of region us")) {
            try settings(["eu": region(9100)])
        }
        var plain = region(9110)
        plain["tickets"] = "http://127.0.0.1:9112"
        #expect(throws: ConfigError(key: "RAMPART_STATUS_ENDPOINTS", reason: "has no https URL of tickets in region us")) {
            try settings(["eu": region(9100), "us": plain])
        }
        #expect(throws: ConfigError.self) {
            try settings(["eu": region(9100), "us": region(9110)], extra: ["RAMPART_STATUS_PROBE_INTERVAL_SECONDS": "0"])
        }
        #expect(throws: ConfigError.self) {
            try settings(["eu": region(9100), "us": region(9110)], extra: ["RAMPART_STATUS_PUBLIC_URL": "http://status.example.com"])
        }
        let tuned = try settings(["eu": region(9100), "us": region(9110)], extra: [
            "RAMPART_STATUS_PROBE_INTERVAL_SECONDS": "5", "RAMPART_STATUS_LATENCY_THRESHOLD_MS": "250", "RAMPART_STATUS_CONFIRMATIONS": "3",
            "RAMPART_STATUS_PUBLIC_URL": "https://status.example.com/",
        ])
        #expect(tuned.probeInterval == .seconds(5))
        #expect(tuned.latencyThreshold == .milliseconds(250))
        #expect(tuned.confirmations == 3)
        #expect(tuned.publicURL == "https://status.example.com")
    }
}
