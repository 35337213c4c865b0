import Foundation
import PostgresNIO
@testable import Audit
@testable import Control
import RampartCore
import RampartSecurity
import RampartStorage
import Synchronization
import Testing

/// A clock tests move by hand.
final class TestClock: Sendable {
    private let current: Mutex<Date>
    init(_ date: Date) { current = Mutex(date) }
    func set(_ date: Date) { current.withLock { $0 = date } }
    var now: Date { current.withLock { $0 } }
}

@Suite("Audit: hash chain, checkpoints, verification and tampering")
struct AuditChainTests {
    /// Six events over three past hours (two each), checkpoints for every hour since, as the
    /// scheduler leaves them; returns the tenant and the first event's hour.
    static func chain(_ fixture: AuditFixture) async throws -> (TenantID, Date) {
        let tenant = try await fixture.tenant()
        let first = AuditChain.hour(of: .now).addingTimeInterval(-4 * 3600)
        let clock = TestClock(first)
        try await fixture.withParts(clock: { clock.now }) { parts in
            for hour in 0..<3 {
                clock.set(first.addingTimeInterval(Double(hour) * 3600 + 600))
                let events = (0..<2).map { AuditFixture.event(tenant, resourceID: "u-\(hour)-\($0)", occurredAt: clock.now) }
                let stored = try await parts.store.ingest(events, service: "identity")
                #expect(stored == .init(stored: 2, duplicates: 0))
            }
            let created = try await parts.checkpointer.run(now: .now)
            #expect(created == 4)
            // A second run (another replica, or the next round) adds nothing.
            let again = try await parts.checkpointer.run(tenant: tenant, now: .now)
            #expect(again == 0)
        }
        return (tenant, first)
    }

    @Test func anUntouchedLogVerifiesWithEveryCheckpoint() async throws {
        try await AuditFixture.with { fixture in
            let (tenant, _) = try await Self.chain(fixture)
            let report = try await fixture.verify(tenant)
            #expect(report.broken == nil)
            #expect(report.rows == 6)
            #expect(report.checkpoints == 4)
            #expect(report.headSeq == 6)
            let seqs: [Int64] = try await fixture.superuserValues("SELECT seq FROM audit.checkpoints WHERE tenant_id = '\(tenant)' ORDER BY hour")
            #expect(seqs == [2, 4, 6, 6])
        }
    }

    @Test func verificationSinceATimeStartsAtTheSignedCheckpointBeforeIt() async throws {
        try await AuditFixture.with { fixture in
            let (tenant, first) = try await Self.chain(fixture)
            let report = try await fixture.verify(tenant, since: first.addingTimeInterval(3600 + 1800))
            #expect(report.broken == nil)
            #expect(report.rows == 4)
            // An anchor that was forged (its hash changed) breaks the first row after it.
            try await fixture.tamper(["UPDATE audit.checkpoints SET head_hash = decode(repeat('ab', 32), 'hex') WHERE tenant_id = '\(tenant)' AND seq = 2"])
            #expect(try await fixture.verify(tenant, since: first.addingTimeInterval(3600 + 1800)).broken != nil)
        }
    }

    @Test func aModifiedEventIsTheFirstBrokenLink() async throws {
        try await AuditFixture.with { fixture in
            let (tenant, _) = try await Self.chain(fixture)
            try await fixture.tamper(["UPDATE audit.events SET record = replace(record, '\"outcome\":\"success\"', '\"outcome\":\"failure\"') WHERE tenant_id = '\(tenant)' AND seq = 3"])
            let broken = try #require(try await fixture.verify(tenant).broken)
            #expect(broken.seq == 3)
            #expect(broken.reason.contains("modified"))
        }
    }

    @Test func aModifiedFilterColumnIsDetected() async throws {
        try await AuditFixture.with { fixture in
            let (tenant, _) = try await Self.chain(fixture)
            try await fixture.tamper(["UPDATE audit.events SET actor_id = 'someone-else' WHERE tenant_id = '\(tenant)' AND seq = 5"])
            let broken = try #require(try await fixture.verify(tenant).broken)
            #expect(broken.seq == 5)
            #expect(broken.reason.contains("columns"))
        }
    }

    @Test func aDeletedEventIsDetected() async throws {
        try await AuditFixture.with { fixture in
            let (tenant, _) = try await Self.chain(fixture)
            try await fixture.tamper(["DELETE FROM audit.events WHERE tenant_id = '\(tenant)' AND seq = 4"])
            let broken = try #require(try await fixture.verify(tenant).broken)
            #expect(broken.seq == 4)
            #expect(broken.reason.contains("missing"))
        }
    }

    @Test func aDeletedTailIsDetectedByTheCheckpoints() async throws {
        try await AuditFixture.with { fixture in
            let (tenant, _) = try await Self.chain(fixture)
            try await fixture.tamper(["DELETE FROM audit.events WHERE tenant_id = '\(tenant)' AND seq >= 5"])
            let broken = try #require(try await fixture.verify(tenant).broken)
            #expect(broken.seq == 5)
            #expect(broken.reason.contains("log ends at seq 4"))
        }
    }

    @Test func reorderedEventsAreDetected() async throws {
        try await AuditFixture.with { fixture in
            let (tenant, _) = try await Self.chain(fixture)
            try await fixture.tamper([
                "UPDATE audit.events SET seq = 1000 WHERE tenant_id = '\(tenant)' AND seq = 3",
                "UPDATE audit.events SET seq = 3 WHERE tenant_id = '\(tenant)' AND seq = 4",
                "UPDATE audit.events SET seq = 4 WHERE tenant_id = '\(tenant)' AND seq = 1000",
            ])
            let broken = try #require(try await fixture.verify(tenant).broken)
            #expect(broken.seq == 3)
        }
    }

    /// The strongest insertion: a forged event in the middle with every later row renumbered
    /// and re-hashed, so the chain itself is consistent. Only the signed checkpoints catch it.
    @Test func anInsertedEventIsDetectedEvenWithARehashedTail() async throws {
        try await AuditFixture.with { fixture in
            let (tenant, _) = try await Self.chain(fixture)
            let rows = try await fixture.withParts { try await $0.store.chainRows(tenant: tenant, afterSeq: 0, limit: 100) }
            var records = try rows.map { try AuditRecord(canonicalJSON: $0.record) }
            var forged = records[2]
            forged.id = UUIDv7.make()
            forged.action = "user.deleted"
            records.insert(forged, at: 3)
            var statements = ["DELETE FROM audit.events WHERE tenant_id = '\(tenant)' AND seq > 3"]
            var previous = rows[2].hash
            for index in 3..<records.count {
                records[index].seq = Int64(index + 1)
                let canonical = try records[index].canonicalJSON()
                let hash = AuditChain.hash(previous: previous, canonicalJSON: canonical)
                let record = records[index]
                statements.append("""
                    INSERT INTO audit.events (tenant_id, seq, id, occurred_at, received_at, service, action, actor_type, actor_id,
                        resource_type, resource_id, outcome, record, prev_hash, hash)
                    VALUES ('\(tenant)', \(record.seq), '\(record.id.uuidString.lowercased())', '\(record.occurredAt)', '\(record.receivedAt)',
                        'identity', '\(record.action)', '\(record.actor.type)', '\(record.actor.id)', '\(record.resource.type)',
                        '\(record.resource.id)', '\(record.outcome)', '\(canonical)', decode('\(Hex.encode(previous))', 'hex'), decode('\(Hex.encode(hash))', 'hex'))
                    """)
                previous = hash
            }
            try await fixture.tamper(statements)
            let broken = try #require(try await fixture.verify(tenant).broken)
            #expect(broken.seq == 4)
            #expect(broken.reason.contains("checkpoint"))
        }
    }

    @Test func aDroppedCheckpointIsDetected() async throws {
        try await AuditFixture.with { fixture in
            let (tenant, first) = try await Self.chain(fixture)
            let dropped = first.addingTimeInterval(2 * 3600)
            try await fixture.tamper(["DELETE FROM audit.checkpoints WHERE tenant_id = '\(tenant)' AND hour = '\(dropped.ISO8601Format())'"])
            let broken = try #require(try await fixture.verify(tenant).broken)
            #expect(broken.hour == dropped)
            #expect(broken.reason.contains("missing"))
        }
    }

    @Test func droppingTheFirstCheckpointOrForgingASignatureIsDetected() async throws {
        try await AuditFixture.with { fixture in
            let (tenant, first) = try await Self.chain(fixture)
            try await fixture.tamper(["DELETE FROM audit.checkpoints WHERE tenant_id = '\(tenant)' AND hour = '\(first.ISO8601Format())'"])
            #expect(try await fixture.verify(tenant).broken?.hour == first)
            try await fixture.tamper(["UPDATE audit.checkpoints SET seq = 5 WHERE tenant_id = '\(tenant)' AND seq = 6"])
            #expect(try await fixture.verify(tenant).broken?.reason.contains("signature") == true)
        }
    }

    @Test func theRuntimeRoleCannotChangeHistory() async throws {
        try await AuditFixture.with { fixture in
            let (tenant, _) = try await Self.chain(fixture)
            // The owner (migration) role owns the tables and could drop the triggers: it is as
            // privileged as a superuser here, and what verification exists for.
            let runtime = try fixture.database.url(.audit, owner: false)
            for url in [runtime] {
                for statement in [
                    "UPDATE events SET action = 'x' WHERE tenant_id = '\(tenant)'",
                    "DELETE FROM events WHERE tenant_id = '\(tenant)'",
                    "TRUNCATE events",
                    "UPDATE checkpoints SET seq = 0 WHERE tenant_id = '\(tenant)'",
                    "DELETE FROM checkpoints WHERE tenant_id = '\(tenant)'",
                ] {
                    await #expect(throws: (any Error).self, "\(url.username): \(statement)") {
                        try await fixture.database.with(url) { client in
                            try await client.withTransaction(logger: TestDatabase.logger) { connection in
                                try await connection.query("SELECT set_config('rampart.tenant_id', \(tenant.description), true)", logger: TestDatabase.logger)
                                // Claiming to be retention does not help anyone but the owner's function.
                                try await connection.query("SELECT set_config('rampart.audit_retention', 'on', true)", logger: TestDatabase.logger)
                                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: TestDatabase.logger)
                            }
                        }
                    }
                }
            }
            // Retention cannot be asked to cut young events: the period comes from the settings.
            let removed = try await fixture.database.with(runtime) { client in
                try await client.values("SELECT apply_retention(\(tenant.rawValue))", as: Int64.self)
            }
            #expect(removed == [0])
            #expect(try await fixture.verify(tenant).rows == 6)
        }
    }

    @Test func personalDataIsSealedBeforeHashingSoErasureKeepsTheChainVerifiable() async throws {
        try await AuditFixture.with { fixture in
            let (tenant, _) = try await Self.chain(fixture)
            let records: [String] = try await fixture.superuserValues("SELECT record FROM audit.events WHERE tenant_id = '\(tenant)'")
            #expect(records.count == 6)
            for record in records {
                for personal in ["grace@acme.test", "Ada Admin", "192.0.2.10", "Mozilla"] { #expect(!record.contains(personal)) }
                #expect(try AuditRecord(canonicalJSON: record).personal != nil)
            }
            try await fixture.keyring.destroy(tenant)
            #expect(try await fixture.verify(tenant).broken == nil)
        }
    }

    @Test func retentionCutsAtASignedCheckpointAndTheRestStillVerifies() async throws {
        try await AuditFixture.with { fixture in
            let tenant = try await fixture.tenant()
            let old = AuditChain.hour(of: .now).addingTimeInterval(-40 * 86400)
            let clock = TestClock(old.addingTimeInterval(60))
            let certificate = AuditFixture.event(tenant, action: "tenant.purged", occurredAt: clock.now)
            try await fixture.withParts(clock: { clock.now }) { parts in
                _ = try await parts.store.ingest([AuditFixture.event(tenant, occurredAt: clock.now), certificate], service: "backup")
                try await parts.checkpointer.run(now: old.addingTimeInterval(3 * 3600))
                clock.set(.now)
                _ = try await parts.store.ingest([AuditFixture.event(tenant)], service: "identity")
                try await parts.checkpointer.run(now: .now)
                try await fixture.database.with(try fixture.database.url(.audit, owner: false)) { client in
                    try await client.withTransaction(logger: TestDatabase.logger) { connection in
                        try await connection.query("SELECT set_config('rampart.tenant_id', \(tenant.description), true)", logger: TestDatabase.logger)
                        try await connection.query("INSERT INTO tenant_settings (tenant_id, retention_days) VALUES (\(tenant.rawValue), 30)", logger: TestDatabase.logger)
                    }
                }
                #expect(try await Retention(database: parts.store.database, keyring: parts.store.keyring).run(tenant: tenant) == 2)
            }
            let seqs: [Int64] = try await fixture.superuserValues("SELECT seq FROM audit.events WHERE tenant_id = '\(tenant)'")
            #expect(seqs == [3])
            let kept: [UUID] = try await fixture.superuserValues("SELECT event_id FROM audit.deletion_certificates WHERE tenant_id = '\(tenant)'")
            #expect(kept == [certificate.id])
            let report = try await fixture.verify(tenant)
            #expect(report.broken == nil)
            #expect(report.rows == 1)
        }
    }

    /// A tenant quiet for longer than its retention period keeps its newest event: the chain
    /// keeps its head, the next event continues the sequence and everything still verifies.
    @Test func retentionKeepsTheNewestEventOfAQuietTenantAndTheChainGoesOn() async throws {
        try await AuditFixture.with { fixture in
            let tenant = try await fixture.tenant()
            let old = AuditChain.hour(of: .now).addingTimeInterval(-40 * 86400)
            let clock = TestClock(old.addingTimeInterval(60))
            try await fixture.withParts(clock: { clock.now }) { parts in
                _ = try await parts.store.ingest([AuditFixture.event(tenant, occurredAt: clock.now)], service: "identity")
                try await parts.checkpointer.run(now: old.addingTimeInterval(3 * 3600))
                clock.set(.now)
                try await parts.checkpointer.run(now: .now)
                try await fixture.database.with(try fixture.database.url(.audit, owner: false)) { client in
                    try await client.withTransaction(logger: TestDatabase.logger) { connection in
                        try await connection.query("SELECT set_config('rampart.tenant_id', \(tenant.description), true)", logger: TestDatabase.logger)
                        try await connection.query("INSERT INTO tenant_settings (tenant_id, retention_days) VALUES (\(tenant.rawValue), 30)", logger: TestDatabase.logger)
                    }
                }
                let retention = Retention(database: parts.store.database, keyring: parts.store.keyring)
                #expect(try await retention.run(tenant: tenant) == 0, "the only event is the chain's head")
                #expect(try await fixture.verify(tenant).broken == nil)
                _ = try await parts.store.ingest([AuditFixture.event(tenant)], service: "identity")
                try await parts.checkpointer.run(now: .now.addingTimeInterval(3600))
                // Now the old event has a successor: it goes, and the chain stays anchored.
                #expect(try await retention.run(tenant: tenant) == 1)
            }
            let seqs: [Int64] = try await fixture.superuserValues("SELECT seq FROM audit.events WHERE tenant_id = '\(tenant)'")
            #expect(seqs == [2])
            let report = try await fixture.verify(tenant)
            #expect(report.broken == nil)
            #expect(report.rows == 1)
        }
    }

    /// Acknowledging an alert takes the chain lock before the alert's row, as the alert scanner
    /// does (it raises alerts, and meets existing ones, under the chain lock): the two meeting
    /// wait in turn instead of deadlocking, and the acknowledgement is recorded.
    @Test func anAcknowledgementMeetingAScanNeitherDeadlocksNorFails() async throws {
        try await AuditFixture.with { fixture in
            let tenant = try await fixture.tenant()
            let alert = UUID()
            try await fixture.tamper(["""
                INSERT INTO audit.alerts (tenant_id, id, rule, severity, subject, window_start, summary, evidence_seq)
                VALUES ('\(tenant)', '\(alert)', 'brute_force', 'high', 'subject', now(), 'Many failed sign-ins', '{}')
                """])
            let acknowledged = try await fixture.withParts { parts in
                let (result, met) = try await fixture.database.whileLocked(
                    "SELECT pg_advisory_xact_lock(hashtext('rampart.audit.chain'), hashtext('\(tenant)'))", waiters: 1, then: { connection in
                        // The scan, holding the chain, meets the same alert again (its insert waits for the alert's row).
                        try await connection.query(PostgresQuery(unsafeSQL: "UPDATE audit.alerts SET summary = summary WHERE id = '\(alert)'"),
                                                   logger: TestDatabase.logger)
                    }) {
                    try await AlertRepository(store: parts.store).acknowledge(alert, tenant: tenant, actor: .init(type: "admin", id: "user:ada"),
                                                                              requestID: "r-1")
                }
                #expect(met, "the acknowledgement reached the chain")
                return result
            }
            #expect(acknowledged.acknowledgedBy == "user:ada")
            #expect(try await fixture.verify(tenant).broken == nil)
        }
    }
}
