import Foundation
import NIOHTTP1
import PostgresNIO
@testable import Backup
@testable import Control
import RampartCore
import RampartSecurity
import RampartStorage
import RampartTransport
import Testing

@Suite("Data-subject requests: a customer's export and erasure across services, in the ledger and replayed")
struct DataSubjectRequestTests {
    let eu = Region(rawValue: "eu")!
    let purges = TenantPurgeTests()
    typealias Region1 = TenantPurgeTests.Region1

    func token(_ region: Region1, tenant: String, slug: String, kind: Principal.Kind, subject: String, scopes: [String], audience: ServiceName) throws -> String {
        let principal = Principal(tenantID: try #require(TenantID(tenant)), tenantSlug: try #require(TenantSlug(rawValue: slug)), region: eu,
                                  subject: subject, kind: kind, roles: [kind == .admin ? "admin" : kind.rawValue], scopes: scopes,
                                  authenticationMethod: .password, sessionID: "s-1")
        return try PrincipalToken.sign(principal, audience: audience, key: region.principalKey)
    }

    /// Tables of identity, tickets, audit and backup whose rows, read as text by the superuser, contain `needle`.
    func traces(of needle: String, _ region: Region1) async throws -> [String] {
        let tables: [String] = try await region.audit.superuserValues("""
            SELECT format('%I.%I', table_schema, table_name) FROM information_schema.tables
            WHERE table_schema IN ('identity', 'tickets', 'audit', 'backup') AND table_type = 'BASE TABLE'
            """)
        var found: [String] = []
        for table in tables {
            let count: [Int64] = try await region.audit.superuserValues("SELECT count(*) FROM \(table) t WHERE t::text ILIKE '%\(needle)%'")
            if count.first ?? 0 > 0 { found.append(table) }
        }
        return found
    }

    /// acme with a customer (an identity account and the person of her tickets, one opened by staff,
    /// one by herself in the portal) and another customer; globex beside it. Returns acme's id and
    /// the customer's user id.
    func seeded(_ region: Region1) async throws -> (acme: String, grace: String) {
        let acme = try await purges.tenantWithData(region, slug: "acme")
        _ = try await purges.tenantWithData(region, slug: "globex")
        let (created, user) = try await region.send(.operator("alice"), .POST, region.identity.baseURL + "/internal/v1/operator/tenants/acme/users",
                                                    json: #"{"email":"grace.hopper@example.org","name":"Grace Hopper","role":"customer"}"#)
        #expect(created == 201, "\(user)")
        let grace = try #require(((user["user"] as? [String: Any])?["id"] as? String)?.lowercased())
        let staff = try token(region, tenant: acme, slug: "acme", kind: .admin, subject: "user:\(UUID().uuidString.lowercased())",
                              scopes: ["tickets:read", "tickets:write"], audience: .tickets)
        for (requester, subject, body) in [("grace.hopper@example.org\",\"name\":\"Grace Hopper", "Printer on fire", "Hopper Lane 1 smells of smoke"),
                                           ("bob.builder@example.org\",\"name\":\"Bob Builder", "Crane stuck", "Builder Yard 7 needs a crane")] {
            let (status, reply) = try await region.send(.service(.gateway, eu), .POST, region.tickets.baseURL + "/api/v1/tickets",
                                                        json: #"{"subject":"\#(subject)","requester":{"email":"\#(requester)"},"message":{"body":"\#(body)"}}"#,
                                                        principal: staff)
            #expect(status == 201, "\(reply)")
        }
        let customer = try token(region, tenant: acme, slug: "acme", kind: .customer, subject: "user:\(grace)", scopes: [], audience: .tickets)
        let (portal, reply) = try await region.send(.service(.gateway, eu), .POST, region.tickets.baseURL + "/api/v1/tickets",
                                                    json: #"{"subject":"Portal question","message":{"body":"Call me on 555 0100"}}"#, principal: customer)
        #expect(portal == 201, "\(reply)")
        #expect(try await purges.outboxesDrained(region))
        return (acme, grace)
    }

    func dataRequest(_ region: Region1, principal: String, _ json: String) async throws -> (Int, [String: Any]) {
        try await region.send(.service(.gateway, eu), .POST, region.backup.baseURL + "/api/v1/data-requests", json: json, principal: principal)
    }

    @Test func anAdminsExportHoldsTheCustomerAndNobodyElseAndOnlyAdminsOfTheTenantMayAsk() async throws {
        try await TenantPurgeTests().withRegion { region in
            let (acme, grace) = try await seeded(region)
            let admin = try token(region, tenant: acme, slug: "acme", kind: .admin, subject: "user:\(UUID().uuidString.lowercased())",
                                  scopes: ["users:write", "audit:read"], audience: .backup)
            let (status, export) = try await dataRequest(region, principal: admin, #"{"type":"export","person":"Grace.Hopper@example.org"}"#)
            #expect(status == 200, "\(export)")
            let text = String(decoding: try JSONSerialization.data(withJSONObject: export), as: UTF8.self)
            for expected in ["Grace Hopper", "grace.hopper@example.org", "Printer on fire", "Hopper Lane 1", "Portal question", "555 0100", grace] {
                #expect(text.contains(expected), "the export lacks \(expected)")
            }
            for foreign in ["Bob", "bob.builder", "Crane stuck", "ada@"] {
                #expect(!text.contains(foreign), "the export holds \(foreign)")
            }
            let services = try #require(export["services"] as? [String: Any])
            let events = try #require(services["audit"] as? [[String: Any]])
            #expect(events.contains { $0["action"] as? String == "ticket.created" })
            #expect(events.allSatisfy { ($0["actor"] as? [String: Any])?["id"] as? String == "user:\(grace)" })

            // The export is in acme's audit log, naming the person by id only.
            let logged: [String] = try await region.audit.superuserValues(
                "SELECT resource_id FROM audit.events WHERE tenant_id = '\(acme)' AND action = 'person.exported'")
            #expect(logged.count == 1)
            #expect(try UUID(uuidString: #require(logged.first)) != nil)

            // An agent, a customer, an admin without users:write: refused.
            for (kind, scopes) in [(Principal.Kind.agent, ["tickets:read", "tickets:write"]), (.customer, []), (.admin, ["audit:read"])] {
                let principal = try token(region, tenant: acme, slug: "acme", kind: kind, subject: "user:\(grace)", scopes: scopes, audience: .backup)
                let (refused, problem) = try await dataRequest(region, principal: principal, #"{"type":"export","person":"\#(grace)"}"#)
                #expect(refused == 403)
                #expect(problem["code"] as? String == "permission_denied")
            }
            // Another tenant's admin: the person does not exist there, by id or by address.
            let globex: [String] = try await region.audit.superuserValues("SELECT id::text FROM identity.tenants WHERE slug = 'globex'")
            let foreign = try token(region, tenant: try #require(globex.first), slug: "globex", kind: .admin, subject: "user:x", scopes: ["users:write"], audience: .backup)
            for key in [grace, "grace.hopper@example.org"] {
                let (missing, problem) = try await dataRequest(region, principal: foreign, #"{"type":"erase","person":"\#(key)"}"#)
                #expect(missing == 404)
                #expect(problem["code"] as? String == "person_not_found")
            }
            // A staff member is not a data subject here; the backup service itself is not a caller.
            let (staff, staffProblem) = try await dataRequest(region, principal: admin, #"{"type":"export","person":"ada@acme.test"}"#)
            #expect(staff == 422)
            #expect(staffProblem["code"] as? String == "not_a_customer")
            let (direct, _) = try await region.send(.service(.gateway, eu), .POST, region.tickets.baseURL + "/internal/v1/tenants/\(acme)/data-subjects/erase",
                                                    json: #"{"ids":["\#(grace)"]}"#)
            #expect(direct == 403)
            #expect(try await traces(of: "grace.hopper", region).contains("tickets.people"))
        }
    }

    @Test func anErasureLeavesNoTraceOfTheCustomerAnywhereAndIsReplayedAfterARestore() async throws {
        try await TenantPurgeTests().withRegion { region in
            let (acme, grace) = try await seeded(region)
            #expect(try await traces(of: "grace.hopper", region).sorted() == ["identity.users", "tickets.people"])
            let (status, receipt) = try await region.send(.operator("alice"), .POST, region.backup.baseURL + "/internal/v1/backup/data-requests",
                                                          json: #"{"tenant_id":"\#(acme)","type":"erase","person":"\#(grace)"}"#)
            #expect(status == 200, "\(receipt)")
            #expect(receipt["ticket_content"] as? String == "keep")
            #expect(receipt["requested_by"] as? String == "operator:alice")
            let people = try #require(receipt["people"] as? [String]).map { $0.lowercased() }
            #expect(people.count == 3) // her account, the person staff created, her portal person

            // No table holds her name or address; the other customer is untouched; her tickets stay (policy keep).
            for needle in ["grace.hopper", "Grace Hopper", "Hopper"] {
                #expect(try await traces(of: needle, region).isEmpty, "\(needle)")
            }
            #expect(try await traces(of: "bob.builder", region) == ["tickets.people"])
            #expect(try await region.rows(of: acme, in: "tickets")["tickets"] == 4)
            #expect(try await region.audit.superuserValues("SELECT status FROM identity.users WHERE id = '\(grace)'", as: String.self) == ["deactivated"])

            // Audit keeps her events in the chain, but no reader opens their personal part any more; the chain verifies.
            let reader = try region.audit.principal(try #require(TenantID(acme)))
            let (_, about) = try await region.audit.get("/api/v1/audit/events?resource_id=\(grace)", principal: reader)
            let aboutHer = try #require(about["data"] as? [[String: Any]])
            #expect(!aboutHer.isEmpty)
            #expect(aboutHer.allSatisfy { $0["personal_data"] as? String == "erased" })
            let (_, all) = try await region.audit.get("/api/v1/audit/events?action=user.created", principal: reader)
            #expect((all["data"] as? [[String: Any]])?.contains { $0["personal_data"] as? String == "available" } == true)
            #expect(try await region.audit.verify(try #require(TenantID(acme))).broken == nil)
            #expect(try await region.audit.superuserValues("SELECT count(*) FROM audit.events WHERE tenant_id = '\(acme)' AND action = 'person.erased'",
                                                           as: Int64.self) == [1])

            // The ledger holds the erasure by ids only.
            let ledgerText = try String(contentsOfFile: region.ledgerPath, encoding: .utf8)
            #expect(!ledgerText.lowercased().contains("grace"))
            let entry = try #require(try ErasureLedger(path: region.ledgerPath).entries().first { $0.kind == "person" })
            #expect(entry.tenantID?.uuidString.lowercased() == acme)
            #expect(Set(entry.people?.map { $0.uuidString.lowercased() } ?? []) == Set(people))
            #expect(entry.deleteTickets == false)

            // A restore brings her back (the rows as they were); the replay erases her again.
            let person: [String] = try await region.audit.superuserValues(
                "SELECT id::text FROM tickets.people WHERE tenant_id = '\(acme)' AND name = 'Erased person' AND user_id IS NULL")
            _ = try await region.audit.superuserValues("""
                WITH a AS (UPDATE identity.users SET email = 'grace.hopper@example.org', name = 'Grace Hopper', status = 'active' WHERE id = '\(grace)' RETURNING 1),
                     b AS (UPDATE tickets.people SET email = 'grace.hopper@example.org', name = 'Grace Hopper' WHERE id = '\(try #require(person.first))' RETURNING 1)
                SELECT (SELECT count(*) FROM a) + (SELECT count(*) FROM b)
                """, as: Int64.self)
            _ = try await region.audit.superuserValues("DELETE FROM audit.erased_people WHERE tenant_id = '\(acme)' RETURNING 1", as: Int32.self)
            #expect(try await traces(of: "grace.hopper", region).sorted() == ["identity.users", "tickets.people"])
            // `rampartctl backup replay-ledger` (what the Kubernetes Job runs) over the network as the superuser.
            #expect(try await LedgerReplay.replay(ErasureLedger(path: region.ledgerPath), superuser: region.database.superuserHere) == 1)
            #expect(try await traces(of: "grace.hopper", region).isEmpty)
            #expect(try await region.audit.superuserValues("SELECT count(*) FROM audit.erased_people WHERE tenant_id = '\(acme)'", as: Int64.self) == [3])
        }
    }

    /// An erasure that stops half-way (audit cannot be reached once identity and tickets have
    /// erased her): it is in the ledger as started, so a restore finishes it instead of bringing
    /// her back, and the answer names a person id (her address is erased already) whose retry
    /// finishes it.
    @Test func anErasureThatStopsHalfWayIsInTheLedgerAndARetryFinishesIt() async throws {
        try await TenantPurgeTests().withRegion { region in
            let (acme, grace) = try await seeded(region)
            let tenant = try #require(TenantID(acme))
            let closed = try RunningService.freePort()
            let halfway = DataSubjectRequests(
                region: eu, endpoints: [.identity: region.identity.baseURL, .tickets: region.tickets.baseURL, .audit: "https://127.0.0.1:\(closed)"],
                tls: try InternalTLS(files: try region.pki.files(for: .service(.backup, eu))), ledger: ErasureLedger(path: region.ledgerPath),
                logger: TestDatabase.logger)
            let problem = await #expect(throws: ProblemError.self) {
                try await halfway.erase(tenant: tenant, key: "grace.hopper@example.org", requester: .init(type: "operator", id: "alice"), requestID: nil)
            }
            #expect(problem?.code == "erasure_incomplete")
            #expect(problem?.status == .badGateway)
            #expect(problem?.detail?.hasPrefix("audit failed after identity, tickets erased.") == true, "\(problem?.detail ?? "")")
            #expect(try await traces(of: "grace.hopper", region).isEmpty, "identity and tickets erased her")

            // The ledger holds it as started, by ids only; a replay would erase her everywhere.
            let entries = try ErasureLedger(path: region.ledgerPath).entries()
            #expect(entries.map(\.kind) == [ErasureLedger.Entry.personStarted])
            #expect(entries.first?.people?.map { $0.uuidString.lowercased() }.contains(grace) == true)
            #expect(LedgerReplay.erasures(in: entries).count == 1)
            #expect(LedgerReplay.statement(for: entries)?.contains(grace) == true)

            // By her address she is nobody now; by the id the answer names, the retry finishes it.
            let (byAddress, _) = try await region.send(.operator("alice"), .POST, region.backup.baseURL + "/internal/v1/backup/data-requests",
                                                       json: #"{"tenant_id":"\#(acme)","type":"erase","person":"grace.hopper@example.org"}"#)
            #expect(byAddress == 404)
            let retry = String(try #require(problem?.detail?.components(separatedBy: "person id ").last?.prefix(36)))
            #expect(UUID(uuidString: retry) != nil, "\(problem?.detail ?? "")")
            let (status, receipt) = try await region.send(.operator("alice"), .POST, region.backup.baseURL + "/internal/v1/backup/data-requests",
                                                          json: #"{"tenant_id":"\#(acme)","type":"erase","person":"\#(retry)"}"#)
            #expect(status == 200, "\(receipt)")
            #expect(Set(try #require(receipt["people"] as? [String]).map { $0.lowercased() }) == Set(entries.first?.people?.map { $0.uuidString.lowercased() } ?? []))
            #expect(try await region.audit.superuserValues("SELECT count(*) FROM audit.events WHERE tenant_id = '\(acme)' AND action = 'person.erased'",
                                                           as: Int64.self) == [1])
            // The retry finished that erasure, under its id: one erasure, completed.
            let after = try ErasureLedger(path: region.ledgerPath).entries()
            #expect(after.map(\.kind) == [ErasureLedger.Entry.personStarted, "person"])
            #expect(after.map(\.id) == [entries[0].id, entries[0].id])
            #expect((receipt["id"] as? String)?.lowercased() == entries[0].id.uuidString.lowercased())
            #expect(LedgerReplay.erasures(in: after).map(\.kind) == ["person"])
        }
    }

    /// A ledger that cannot be read (its path is a folder) stops an erasure before anything is
    /// erased. One that can be read but not written (a path in /proc) stops it after identity,
    /// asked first, has erased her: the answer says the erasure is not recorded — never that a
    /// restore would repeat it.
    @Test func anErasureTheLedgerCannotRecordStopsAndSaysSo() async throws {
        try await TenantPurgeTests().withRegion { region in
            let (acme, _) = try await seeded(region)
            let tenant = try #require(TenantID(acme))
            func requests(ledger path: String) throws -> DataSubjectRequests {
                DataSubjectRequests(
                    region: eu, endpoints: [.identity: region.identity.baseURL, .tickets: region.tickets.baseURL, .audit: region.audit.audit.baseURL],
                    tls: try InternalTLS(files: try region.pki.files(for: .service(.backup, eu))), ledger: ErasureLedger(path: path), logger: TestDatabase.logger)
            }
            let folder = region.pki.directory.appendingPathComponent("ledger-is-a-folder").path
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            await #expect(throws: ErasureLedger.LedgerError.self) {
                try await requests(ledger: folder).erase(tenant: tenant, key: "grace.hopper@example.org", requester: .init(type: "operator", id: "alice"), requestID: nil)
            }
            #expect(try await traces(of: "grace.hopper", region).sorted() == ["identity.users", "tickets.people"], "nothing erased")

            let problem = await #expect(throws: ProblemError.self) {
                try await requests(ledger: "/proc/rampart-erasure-ledger.jsonl").erase(
                    tenant: tenant, key: "grace.hopper@example.org", requester: .init(type: "operator", id: "alice"), requestID: nil)
            }
            #expect(problem?.code == "erasure_not_recorded")
            #expect(problem?.status == .internalServerError)
            #expect(problem?.detail?.contains("repeated after any restore") == false)
            #expect(try await traces(of: "grace.hopper", region) == ["tickets.people"], "identity erased her, tickets was not asked")
        }
    }

    @Test func underTheDeletePolicyTheCustomersTicketsGoWithThem() async throws {
        try await TenantPurgeTests().withRegion { region in
            let (acme, _) = try await seeded(region)
            let admin = try token(region, tenant: acme, slug: "acme", kind: .admin, subject: "user:\(UUID().uuidString.lowercased())",
                                  scopes: ["tickets:read", "tickets:write"], audience: .tickets)
            let (patched, settings) = try await region.send(.service(.gateway, eu), .PATCH, region.tickets.baseURL + "/api/v1/tickets/settings",
                                                            json: #"{"erasure_ticket_content":"delete"}"#, principal: admin)
            #expect(patched == 200, "\(settings)")
            #expect(try await purges.outboxesDrained(region))
            let backupAdmin = try token(region, tenant: acme, slug: "acme", kind: .admin, subject: "user:\(UUID().uuidString.lowercased())",
                                        scopes: ["users:write"], audience: .backup)
            let (status, receipt) = try await dataRequest(region, principal: backupAdmin, #"{"type":"erase","person":"bob.builder@example.org"}"#)
            #expect(status == 200, "\(receipt)")
            #expect(receipt["ticket_content"] as? String == "delete")
            // Bob's one ticket is gone with its messages; Grace's and the admin's remain.
            #expect(try await region.rows(of: acme, in: "tickets")["tickets"] == 3)
            #expect(try await traces(of: "bob.builder", region).isEmpty)
            #expect(try await traces(of: "grace.hopper", region).sorted() == ["identity.users", "tickets.people"])
            let entry = try #require(try ErasureLedger(path: region.ledgerPath).entries().first { $0.kind == "person" })
            #expect(entry.deleteTickets == true)
            #expect(try await region.audit.superuserValues("SELECT actor_type FROM audit.events WHERE tenant_id = '\(acme)' AND action = 'person.erased'",
                                                           as: String.self) == ["admin"])
        }
    }

    /// A customer made staff while their erasure runs: identity, asked first, refuses them under a
    /// lock on their account, so no service has erased anything of theirs (no half erasure).
    @Test func aCustomerMadeStaffWhileTheirErasureRunsIsRefusedBeforeAnythingIsErased() async throws {
        try await TenantPurgeTests().withRegion { region in
            let (acme, grace) = try await seeded(region)
            let (outcome, met) = try await region.database.whileLocked("SELECT 1 FROM identity.users WHERE id = '\(grace)' FOR UPDATE", waiters: 1, then: { connection in
                // An admin's promotion commits while the erasure is on its way.
                try await connection.query(PostgresQuery(unsafeSQL: "UPDATE identity.users SET role = 'agent' WHERE id = '\(grace)'"), logger: TestDatabase.logger)
            }) { () -> String in
                let (status, problem) = try await region.send(.operator("alice"), .POST, region.backup.baseURL + "/internal/v1/backup/data-requests",
                                                              json: #"{"tenant_id":"\#(acme)","type":"erase","person":"\#(grace)"}"#)
                return "\(status) \(problem["code"] as? String ?? "")"
            }
            #expect(met, "the erasure reached her account")
            #expect(outcome == "422 not_a_customer")
            #expect(try await traces(of: "grace.hopper", region).sorted() == ["identity.users", "tickets.people"], "nothing of hers erased anywhere")
            #expect(try await region.audit.superuserValues("SELECT count(*) FROM audit.events WHERE tenant_id = '\(acme)' AND action = 'person.erased'",
                                                          as: Int64.self) == [0])
        }
    }
}
