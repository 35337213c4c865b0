import ArgumentParser
import Foundation
import NIOHTTP1
import RampartCore
import RampartSecurity
import RampartTransport

/// Audit ingestion with chaining (events/s) and chain verification (events/s), against the
/// running audit service as identity's relay and `rampartctl audit verify` reach it.
struct AuditThroughput: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "audit", abstract: "Ingest chained events, then verify the tenant's chain.")

    @Option(help: "Audit's internal URL.") var audit: String
    @Option(help: "The internal CA certificate.") var ca: String
    @Option(help: "A certificate of a service allowed to write events (identity of the region).") var cert: String
    @Option(help: "Its private key.") var key: String
    @Option(help: "An operator certificate (verification reads the chain through the operator API).") var operatorCert: String
    @Option(help: "Its private key.") var operatorKey: String
    @Option(help: "The audit checkpoint public keys (JWKS).") var checkpointKeys: String
    @Option(help: "The tenant id the events belong to (a tenant of the region).") var tenant: String
    @Option(help: "The region.") var region: String = "eu"
    @Option(help: "How long to ingest, in seconds.") var seconds: Int = 10
    @Option(help: "Batches in flight at once.") var concurrency: Int = 4
    @Option(help: "Events per batch (the relay sends up to 100).") var batch: Int = 100

    func run() async throws {
        guard let tenantID = TenantID(tenant), let region = Region(rawValue: region) else { throw ValidationError("--tenant must be a tenant id, --region a region") }
        let writer = InternalClient(tls: try InternalTLS(files: .init(caCertificatePath: ca, certificatePath: cert, privateKeyPath: key)))
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        func body() throws -> Data {
            let events = (0..<batch).map { index in
                AuditEvent(tenantID: tenantID, region: region,
                           actor: .init(type: "agent", id: "bench-agent", displayName: "Bench Agent", ip: "198.51.100.\(index % 250)", userAgent: "rampart-bench"),
                           action: "ticket.replied", resource: .init(type: "ticket", id: "bench-\(index)", label: "Benchmark ticket"), source: "api")
            }
            return try encoder.encode(["events": events])
        }
        let url = audit + "/internal/v1/events"
        let warm = try await writer.send(.POST, url: url, body: try body())
        guard warm.status == 200 else {
            try await writer.shutdown()
            throw ValidationError("audit refused the batch (HTTP \(warm.status))")
        }
        let deadline = ContinuousClock.now + .seconds(seconds)
        let started = ContinuousClock.now
        let stored = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    var count = 0
                    while ContinuousClock.now < deadline {
                        let reply = try await writer.send(.POST, url: url, body: try body())
                        guard reply.status == 200 else { throw ValidationError("HTTP \(reply.status) during the run") }
                        count += batch
                    }
                    return count
                }
            }
            return try await group.reduce(0, +)
        }
        let ingestSeconds = Load.seconds(ContinuousClock.now - started)
        try await writer.shutdown()

        // Verification as `rampartctl audit verify` does it: fetch every row and checkpoint, recompute.
        let reader = InternalClient(tls: try InternalTLS(files: .init(caCertificatePath: ca, certificatePath: operatorCert, privateKeyPath: operatorKey)))
        let keys = try PrincipalKeySet(jwks: try Data(contentsOf: URL(fileURLWithPath: checkpointKeys)))
        let base = audit + "/internal/v1/operator/audit/tenants/\(tenantID)"
        let verifyStart = ContinuousClock.now
        struct Checkpoints: Decodable { var checkpoints: [AuditCheckpoint] }
        struct Page: Decodable {
            var rows: [AuditChainVerifier.Row]
            var next_after_seq: Int64?
        }
        let checkpoints = try AuditChain.decoder().decode(Checkpoints.self, from: try await reader.send(url: base + "/checkpoints", maximumBodyBytes: 64 << 20).body).checkpoints
        var verifier = AuditChainVerifier(tenant: tenantID, region: region, keys: keys, checkpoints: checkpoints, checkpointsThrough: nil)
        var after: Int64 = 0
        var computing: Duration = .zero
        while true {
            let page = try AuditChain.decoder().decode(Page.self, from: try await reader.send(url: base + "/events?after_seq=\(after)", maximumBodyBytes: 64 << 20).body)
            let computeStart = ContinuousClock.now
            for row in page.rows {
                if let broken = verifier.consume(row) {
                    try await reader.shutdown()
                    throw ValidationError("the chain did not verify: \(broken)")
                }
            }
            computing += ContinuousClock.now - computeStart
            guard let next = page.next_after_seq else { break }
            after = next
        }
        if let broken = verifier.finish() {
            try await reader.shutdown()
            throw ValidationError("the chain did not verify: \(broken)")
        }
        let verifySeconds = Load.seconds(ContinuousClock.now - verifyStart)
        try await reader.shutdown()
        print(String(format: #"{"benchmark":"audit","ingested":%d,"ingest_seconds":%.2f,"ingest_per_second":%.0f,"batch":%d,"concurrency":%d,"verified":%d,"verify_seconds":%.2f,"verify_per_second":%.0f,"recompute_per_second":%.0f}"#,
                     stored, ingestSeconds, Double(stored) / ingestSeconds, batch, concurrency, verifier.verifiedRows, verifySeconds,
                     Double(verifier.verifiedRows) / verifySeconds, Double(verifier.verifiedRows) / max(Load.seconds(computing), 0.000_001)))
    }
}
