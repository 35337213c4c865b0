import Foundation
import PostgresNIO
import RampartCore
import RampartSecurity
import RampartStorage

/// Signs every tenant's chain head once per hour, also for hours without events, so a deleted
/// tail or a dropped checkpoint shows as a gap when the chain is verified.
///
/// The tenants are those with a live key in the region's key store (every tenant of the region,
/// created by identity). A tenant's series starts at the hour of its first event, or at the
/// first run after it was created; hours missed while audit was down are filled in on the next
/// run, each signing the head as it was at the end of that hour. Replicas may run it at once:
/// a checkpoint that exists already is left as it is.
public struct Checkpointer: Sendable {
    public let database: Database
    public let region: Region
    public let keyring: TenantKeyring
    public let signingKey: PrincipalSigningKey

    public init(database: Database, region: Region, keyring: TenantKeyring, signingKey: PrincipalSigningKey) {
        self.database = database
        self.region = region
        self.keyring = keyring
        self.signingKey = signingKey
    }

    /// Creates the missing checkpoints through the last hour complete at `now`; returns how many.
    @discardableResult
    public func run(now: Date) async throws -> Int {
        var created = 0
        for tenant in try await keyring.tenants() {
            created += try await run(tenant: tenant, now: now)
        }
        return created
    }

    /// The missing checkpoints of one tenant.
    func run(tenant: TenantID, now: Date) async throws -> Int {
        let lastComplete = AuditChain.hour(of: now).addingTimeInterval(-3600)
        let logger = database.logger
        let region = self.region
        let signingKey = self.signingKey
        return try await database.withTenant(tenant) { connection in
            var newest: Date?
            for try await hour in try await connection.query("SELECT max(hour) FROM checkpoints WHERE tenant_id = \(tenant.rawValue)", logger: logger).decode(Date?.self) {
                newest = hour
            }
            var firstEvent: Date?
            for try await received in try await connection.query("""
                SELECT received_at FROM events WHERE tenant_id = \(tenant.rawValue) ORDER BY seq LIMIT 1
                """, logger: logger).decode(Date.self) {
                firstEvent = received
            }
            var hour = newest.map { $0.addingTimeInterval(3600) } ?? min(firstEvent.map(AuditChain.hour(of:)) ?? lastComplete, lastComplete)
            var created = 0
            while hour <= lastComplete {
                let end = hour.addingTimeInterval(3600)
                var head: (Int64, Data) = (0, AuditChain.genesis)
                for try await (seq, hash) in try await connection.query("""
                    SELECT seq, encode(hash, 'hex') FROM events
                    WHERE tenant_id = \(tenant.rawValue) AND received_at < \(end)
                    ORDER BY seq DESC LIMIT 1
                    """, logger: logger).decode((Int64, String).self) {
                    head = (seq, Hex.decode(hash) ?? AuditChain.genesis)
                }
                let checkpoint = try AuditCheckpoint.sign(tenant: tenant, region: region, hour: hour, seq: head.0, headHash: head.1, key: signingKey)
                try await connection.query("""
                    INSERT INTO checkpoints (tenant_id, hour, seq, head_hash, key_id, signature)
                    VALUES (\(tenant.rawValue), \(hour), \(checkpoint.seq), decode(\(Hex.encode(checkpoint.headHash)), 'hex'),
                            \(checkpoint.keyID), decode(\(Hex.encode(checkpoint.signature)), 'hex'))
                    ON CONFLICT (tenant_id, hour) DO NOTHING
                    """, logger: logger)
                created += 1
                hour = end
            }
            return created
        }
    }

    /// The tenant's checkpoints, oldest first.
    public func checkpoints(tenant: TenantID) async throws -> [AuditCheckpoint] {
        let logger = database.logger
        let region = self.region
        return try await database.withTenant(tenant) { connection in
            var result: [AuditCheckpoint] = []
            for try await (hour, seq, head, keyID, signature) in try await connection.query("""
                SELECT hour, seq, encode(head_hash, 'hex'), key_id, encode(signature, 'hex') FROM checkpoints
                WHERE tenant_id = \(tenant.rawValue) ORDER BY hour
                """, logger: logger).decode((Date, Int64, String, String, String).self) {
                result.append(AuditCheckpoint(tenantID: tenant, region: region, hour: hour, seq: seq, headHash: Hex.decode(head) ?? Data(),
                                              keyID: keyID, signature: Hex.decode(signature) ?? Data()))
            }
            return result
        }
    }
}
