import Foundation
import PostgresNIO
@testable import Audit
import RampartCore
import RampartSecurity
import RampartStorage
import Testing

@Suite("Audit: ingestion over mutual TLS")
struct AuditIngestionTests {
    @Test func storesABatchAndRecognisesEveryRetriedEvent() async throws {
        try await AuditFixture.with { fixture in
            let tenant = try await fixture.tenant()
            let events = (0..<3).map { AuditFixture.event(tenant, resourceID: "u-\($0)") }
            let (status, body) = try await fixture.send(body: try AuditFixture.batch(events))
            #expect(status == 200)
            #expect(body["stored"] as? Int == 3)
            #expect(body["duplicates"] as? Int == 0)
            let (again, retried) = try await fixture.send(body: try AuditFixture.batch(events))
            #expect(again == 200)
            #expect(retried["stored"] as? Int == 0)
            #expect(retried["duplicates"] as? Int == 3)
            let fresh = AuditFixture.event(tenant, resourceID: "u-9")
            let (_, mixed) = try await fixture.send(body: try AuditFixture.batch([events[0], fresh, fresh]))
            #expect(mixed["stored"] as? Int == 1)
            #expect(mixed["duplicates"] as? Int == 2)
            let rows: [String] = try await fixture.superuserValues("SELECT seq || ':' || service FROM audit.events WHERE tenant_id = '\(tenant)' ORDER BY seq")
            #expect(rows == ["1:identity", "2:identity", "3:identity", "4:identity"])
        }
    }

    @Test func afterErasureOnlyBackupsCertificateWithoutPersonalDataIsStored() async throws {
        try await AuditFixture.with { fixture in
            let purged = try await fixture.tenant()
            try await fixture.keyring.destroy(purged)
            func certificate(ip: String? = nil, action: String = "tenant.purged") -> AuditEvent {
                AuditEvent(tenantID: purged, region: AuditFixture.eu, actor: .init(type: "operator", id: "alice", ip: ip), action: action,
                           resource: .init(type: "tenant", id: purged.description), source: "system", attestation: #"{"signed":true}"#)
            }
            let refusals: [(CallerIdentity, AuditEvent)] = [
                (.service(.tickets, AuditFixture.eu), certificate()),          // not backup
                (.service(.backup, AuditFixture.eu), certificate(ip: "192.0.2.1")), // personal data would need the destroyed key
                (.service(.backup, AuditFixture.eu), AuditFixture.event(purged)),    // not a certificate
            ]
            for (caller, event) in refusals {
                let (status, _) = try await fixture.send(as: caller, body: try AuditFixture.batch([event]))
                #expect(status == 422, "\(caller) \(event.action)")
            }
            let (stored, _) = try await fixture.send(as: .service(.backup, AuditFixture.eu), body: try AuditFixture.batch([certificate()]))
            #expect(stored == 200)
            let rows: [Int64] = try await fixture.superuserValues("SELECT count(*) FROM audit.events WHERE tenant_id = '\(purged)'")
            #expect(rows == [1])
        }
    }

    @Test func eventsOfSeveralTenantsFormSeparateChains() async throws {
        try await AuditFixture.with { fixture in
            let acme = try await fixture.tenant()
            let globex = try await fixture.tenant()
            let batch = [AuditFixture.event(acme), AuditFixture.event(globex), AuditFixture.event(acme)]
            let (status, _) = try await fixture.send(as: .service(.tickets, AuditFixture.eu), body: try AuditFixture.batch(batch))
            #expect(status == 200)
            let acmeSeqs: [Int64] = try await fixture.superuserValues("SELECT seq FROM audit.events WHERE tenant_id = '\(acme)' ORDER BY seq")
            let globexSeqs: [Int64] = try await fixture.superuserValues("SELECT seq FROM audit.events WHERE tenant_id = '\(globex)' ORDER BY seq")
            #expect(acmeSeqs == [1, 2])
            #expect(globexSeqs == [1])
        }
    }

    @Test func aBadBatchIsRefusedWithAPreciseProblemAndNothingIsStored() async throws {
        try await AuditFixture.with { fixture in
            let tenant = try await fixture.tenant()
            let good = AuditFixture.event(tenant)
            var badActor = AuditFixture.event(tenant)
            badActor.actor.type = "hacker"
            var secret = AuditFixture.event(tenant)
            secret.changes = ["password_hash": ["a", "b"]]
            var otherRegion = AuditFixture.event(tenant)
            otherRegion.region = Region(rawValue: "us")!
            var badAction = AuditFixture.event(tenant)
            badAction.action = "DROP TABLE events;"
            var notV7 = AuditFixture.event(tenant)
            notV7.id = UUID()
            let unknownTenant = AuditFixture.event(.random())
            let cases: [(Data, Int, String, String?)] = [
                (try AuditFixture.batch([good, badActor]), 422, "invalid_event", "events[1].actor.type"),
                (try AuditFixture.batch([good, secret]), 422, "invalid_event", "events[1].changes.password_hash"),
                (try AuditFixture.batch([otherRegion]), 422, "invalid_event", "events[0].region"),
                (try AuditFixture.batch([badAction]), 422, "invalid_event", "events[0].action"),
                (try AuditFixture.batch([notV7]), 422, "invalid_event", "events[0].id"),
                (try AuditFixture.batch([good, unknownTenant]), 422, "unknown_tenant", nil),
                (Data(#"{"events":[{"id":"not-a-uuid"}]}"#.utf8), 422, "invalid_event", nil),
                (Data(#"{"events":[]}"#.utf8), 400, "malformed_batch", nil),
                (Data(#"{"things":1}"#.utf8), 400, "malformed_batch", nil),
                (Data("not json".utf8), 400, "malformed_batch", nil),
                (try AuditFixture.batch(Array(repeating: good, count: EventBatch.maximumEvents + 1)), 400, "malformed_batch", nil),
                (Data(repeating: UInt8(ascii: " "), count: 1024 * 1024 + 10), 413, "body_too_large", nil),
            ]
            for (body, status, code, field) in cases {
                let (answered, problem) = try await fixture.send(body: body)
                #expect(answered == status, "\(code) \(field ?? "")")
                #expect(problem["code"] as? String == code, "\(code) \(field ?? "")")
                if let field {
                    #expect((problem["errors"] as? [[String: Any]])?.first?["field"] as? String == field)
                }
                #expect(problem["detail"].map { "\($0)" }?.contains("hacker") != true)
            }
            let stored: [Int64] = try await fixture.superuserValues("SELECT count(*) FROM audit.events")
            #expect(stored == [0])
        }
    }

    @Test func onlyAllowListedServicesMayWriteEvents() async throws {
        try await AuditFixture.with { fixture in
            let tenant = try await fixture.tenant()
            let body = try AuditFixture.batch([AuditFixture.event(tenant)])
            for caller in [CallerIdentity.service(.status, AuditFixture.eu), .operator("mallory"),
                           .service(.identity, Region(rawValue: "us")!), .service(.gateway, Region(rawValue: "us")!)] {
                let (status, problem) = try await fixture.send(as: caller, body: body)
                #expect(status == 403, "\(caller)")
                #expect(problem["code"] as? String == "caller_not_allowed")
            }
            // The gateway writes the WAF's findings (docs/gateway.md).
            for caller in [CallerIdentity.service(.identity, AuditFixture.eu), .service(.tickets, AuditFixture.eu), .service(.backup, AuditFixture.eu),
                           .service(.gateway, AuditFixture.eu)] {
                #expect(try await fixture.send(as: caller, body: body).0 == 200)
            }
            // The operator API is for operators only.
            let (fromIdentity, _) = try await fixture.send(.GET, "/internal/v1/operator/audit/tenants/\(tenant)/checkpoints", body: nil)
            #expect(fromIdentity == 403)
        }
    }
}
