import ArgumentParser
import Foundation
import RampartCore
import RampartSecurity

/// `rampartctl audit …`: verify a tenant's audit chain, run checkpoints now.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Verify tamper-evident audit logs.",
        subcommands: [Verify.self, Checkpoint.self]
    )

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recompute a tenant's hash chain and check every checkpoint signature; names the first broken link.",
            discussion: "Exits 0 when the log is intact, 1 with the first broken link otherwise."
        )
        @OptionGroup var operatorOptions: OperatorOptions
        @Option(help: "Region.") var region: String
        @Option(help: "Tenant slug (resolved through identity) or tenant id.") var tenant: String
        @Option(help: "Verify from the newest checkpoint at or before this time (ISO 8601), anchored by its signature.") var since: String?
        @Option(help: "The audit checkpoint public keys (JWKS) this installation trusts.") var checkpointKeys: String = ".run/keys/audit-checkpoint-jwks.json"

        func run() async throws {
            guard let keyData = FileManager.default.contents(atPath: checkpointKeys), let keys = try? PrincipalKeySet(jwks: keyData) else {
                throw ControlError("cannot read checkpoint public keys from \(checkpointKeys)")
            }
            guard let region = Region(rawValue: region) else { throw ValidationError("--region must be a region name") }
            let sinceDate = try since.map { text -> Date in
                guard let date = try? Date(text, strategy: .iso8601) else { throw ValidationError("--since must be an ISO 8601 time such as 2026-01-31T00:00:00Z") }
                return date
            }
            let report = try await OperatorClient.with(operatorOptions) { client in
                let tenantID = try await AuditVerification.resolveTenant(tenant, region: region, client: client)
                return try await AuditVerification(client: client, region: region, keys: keys).verify(tenant: tenantID, since: sinceDate)
            }
            if let broken = report.broken {
                throw ControlError("audit: tenant \(tenant) in \(region): \(broken)")
            }
            print("audit: tenant \(tenant) in \(region) verified: \(report.rows) events, \(report.checkpoints) checkpoints, head seq \(report.headSeq)")
        }
    }

    struct Checkpoint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Sign every tenant's missing hourly checkpoints now (the scheduler also does every few minutes).")
        @OptionGroup var operatorOptions: OperatorOptions
        @Option(help: "Region.") var region: String

        func run() async throws {
            print(OperatorClient.render(try await OperatorClient.call(operatorOptions, .POST, .audit, region: region, path: "/internal/v1/operator/audit/checkpoints")))
        }
    }
}

/// Fetches a tenant's stored chain and checkpoints from audit's operator API and verifies them
/// here, with public keys the operator holds: the audit service is not asked whether it is intact.
struct AuditVerification {
    let client: OperatorClient
    let region: Region
    let keys: PrincipalKeySet
    /// How long after an hour ends its checkpoint must exist (the scheduler runs every few minutes).
    static let checkpointGrace: TimeInterval = 70 * 60

    struct Report {
        var rows: Int
        var checkpoints: Int
        var headSeq: Int64
        var broken: AuditChainBreak?
    }

    private struct CheckpointList: Decodable { var checkpoints: [AuditCheckpoint] }
    private struct RowsPage: Decodable {
        var rows: [AuditChainVerifier.Row]
        var nextAfterSeq: Int64?
        enum CodingKeys: String, CodingKey {
            case rows
            case nextAfterSeq = "next_after_seq"
        }
    }

    /// A tenant id as given, or the id identity knows for a slug.
    static func resolveTenant(_ text: String, region: Region, client: OperatorClient) async throws -> TenantID {
        if let id = TenantID(text) { return id }
        let list = try await client.call(.GET, .identity, region: region.rawValue, path: "/internal/v1/operator/tenants") as? [String: Any]
        let match = (list?["data"] as? [[String: Any]])?.first { $0["slug"] as? String == text }
        guard let raw = match?["id"] as? String, let id = TenantID(raw) else { throw ControlError("no tenant \(text) in region \(region)") }
        return id
    }

    func verify(tenant: TenantID, since: Date? = nil, now: Date = .now) async throws -> Report {
        let base = "/internal/v1/operator/audit/tenants/\(tenant)"
        let checkpoints = try AuditChain.decoder().decode(CheckpointList.self, from: try await client.data(.GET, .audit, region: region.rawValue, path: base + "/checkpoints")).checkpoints
        var verifier = AuditChainVerifier(tenant: tenant, region: region, keys: keys, checkpoints: checkpoints,
                                          checkpointsThrough: now.addingTimeInterval(-Self.checkpointGrace))
        var after: Int64 = since.flatMap { date in checkpoints.last(where: { $0.hour.addingTimeInterval(3600) <= date })?.seq } ?? 0
        var headSeq = after
        while true {
            let page = try AuditChain.decoder().decode(RowsPage.self, from: try await client.data(.GET, .audit, region: region.rawValue, path: base + "/events?after_seq=\(after)"))
            for row in page.rows {
                if let broken = verifier.consume(row) {
                    return Report(rows: verifier.verifiedRows, checkpoints: checkpoints.count, headSeq: headSeq, broken: broken)
                }
                headSeq = row.seq
            }
            guard let next = page.nextAfterSeq else { break }
            after = next
        }
        return Report(rows: verifier.verifiedRows, checkpoints: checkpoints.count, headSeq: headSeq, broken: verifier.finish())
    }
}
