import Foundation
import NIOHTTP1
import PostgresNIO
import RampartCore
import Testing
@testable import Tickets

/// Versions of what staff change besides tickets (departments, teams, custom fields, people,
/// organizations, the tenant's ticket settings): an `ETag` on every answer that carries one, `If-Match` on `PATCH`,
/// and changes of one item that meet each other both kept, not one undoing the other.
@Suite("Tickets: versions of departments, teams, custom fields, people, organizations and settings")
struct TicketsVersionsTests {
    typealias H = TicketsHarness
    let acme = H.Tenant.make("acme")

    /// The items with a version, by where the API serves them, and a change of each.
    func items(_ h: H, _ admin: H.Actor) async throws -> [(path: String, change: String, other: String, created: String?)] {
        let department = try await h.send(admin, .POST, "/api/v1/departments", json: #"{"name":"Billing"}"#)
        let team = try await h.send(admin, .POST, "/api/v1/teams", json: #"{"name":"Night shift"}"#)
        let field = try await h.send(admin, .POST, "/api/v1/custom-fields", json: #"{"key":"plan","label":"Plan","type":"text"}"#)
        let person = try await h.send(admin, .POST, "/api/v1/people", json: #"{"name":"Bea","email":"bea@example.test"}"#)
        let organization = try await h.send(admin, .POST, "/api/v1/organizations", json: #"{"name":"Acme"}"#)
        for created in [department, team, field, person, organization] { #expect(created.status == 201, "\(created.json)") }
        return [
            ("/api/v1/tickets/settings", #"{"recycle_bin_days":7}"#, #"{"card_keep_first":0}"#, nil),
            ("/api/v1/departments/\(department.id)", #"{"name":"Billing & Refunds"}"#, #"{"first_response_minutes":60}"#, department.headers.first(name: "etag")),
            ("/api/v1/teams/\(team.id)", #"{"name":"Day shift"}"#, #"{"agent_ids":["\#(UUID().uuidString)"]}"#, team.headers.first(name: "etag")),
            ("/api/v1/custom-fields/\(field.id)", #"{"label":"Customer plan"}"#, #"{"required":true}"#, field.headers.first(name: "etag")),
            ("/api/v1/people/\(person.id)", #"{"name":"Bea Builder"}"#, #"{"email":"bea@builder.test"}"#, person.headers.first(name: "etag")),
            ("/api/v1/organizations/\(organization.id)", #"{"name":"Acme Ltd"}"#, #"{"name":"Acme Limited"}"#, organization.headers.first(name: "etag")),
        ]
    }

    @Test func eachCarriesAnETagAndAChangeUnderAStaleOrWeakIfMatchChangesNothing() async throws {
        try await H.with { h in
            let admin = H.Actor.admin(acme)
            for item in try await items(h, admin) {
                let read = try await h.send(admin, .GET, item.path)
                let first = try #require(read.headers.first(name: "etag"), "\(item.path)")
                #expect(first.count == 34 && first.hasPrefix("\"") && first.hasSuffix("\""), "\(item.path): \(first)")
                if let created = item.created { #expect(created == first, "\(item.path): the creation's ETag is the item's") }

                let changed = try await h.send(admin, .PATCH, item.path, json: item.change, headers: [("If-Match", first)])
                #expect(changed.status == 200, "\(item.path): \(changed.json)")
                let second = try #require(changed.headers.first(name: "etag"))
                #expect(second != first, "\(item.path)")
                #expect(try await h.send(admin, .GET, item.path).headers.first(name: "etag") == second, "\(item.path)")

                // The first version, the current one named weakly, or a malformed tag: 412, nothing changed.
                for refused in [first, "W/" + second, "abc"] {
                    let stale = try await h.send(admin, .PATCH, item.path, json: item.other, headers: [("If-Match", refused)])
                    #expect(stale.status == 412 && stale.code == "version_mismatch", "\(item.path) with \(refused): \(stale.json)")
                }
                let after = try await h.send(admin, .GET, item.path)
                #expect(after.headers.first(name: "etag") == second, "\(item.path): nothing changed")

                // Without If-Match, a change applies as before; the same content is the same version.
                let unconditional = try await h.send(admin, .PATCH, item.path, json: item.change)
                #expect(unconditional.status == 200 && unconditional.headers.first(name: "etag") == second, "\(item.path)")
            }
        }
    }

    /// Two changes of different parts of one item (people too, which have no version) reach the
    /// database while its row is locked (so both have read it before either can write): both
    /// must stay. Without the repositories' locks each would write back the part it read,
    /// undoing the other.
    @Test func twoChangesOfOneItemThatMeetBothStay() async throws {
        try await H.with { h in
            let admin = H.Actor.admin(acme)
            let tenant = acme.id.rawValue
            let items = try await items(h, admin)
            #expect(try await h.send(admin, .PATCH, items[0].path, json: #"{"closed_ticket_days":0}"#).status == 200, "the settings have a row")
            let person = try await h.send(admin, .POST, "/api/v1/people", json: #"{"name":"Ann","email":"ann@example.test"}"#)
            #expect(person.status == 201, "\(person.json)")
            func id(_ path: String) -> Substring { path.split(separator: "/").last ?? "" }
            // Each item's two changes, and what it must hold afterwards, as JSON.
            let rows: [(item: (path: String, change: String, other: String), lock: String, changed: [String: String])] = [
                ((items[0].path, items[0].change, items[0].other), "SELECT 1 FROM tickets.settings WHERE tenant_id = '\(tenant)' FOR UPDATE",
                 ["recycle_bin_days": "7", "card_keep_first": "0"]),
                ((items[1].path, items[1].change, items[1].other), "SELECT 1 FROM tickets.departments WHERE id = '\(id(items[1].path))' FOR UPDATE",
                 ["name": #""Billing & Refunds""#, "first_response_minutes": "60"]),
                ((items[3].path, items[3].change, items[3].other), "SELECT 1 FROM tickets.custom_fields WHERE id = '\(id(items[3].path))' FOR UPDATE",
                 ["label": #""Customer plan""#, "required": "true"]),
                (("/api/v1/people/\(person.id)", #"{"name":"Ann Archer"}"#, #"{"email":"ann@archer.test"}"#),
                 "SELECT 1 FROM tickets.people WHERE id = '\(person.id)' FOR UPDATE", ["name": #""Ann Archer""#, "email": #""ann@archer.test""#]),
            ]
            for row in rows {
                let item = row.item
                let (statuses, met) = try await h.database.whileLocked(row.lock, waiters: 2) {
                    try await withThrowingTaskGroup(of: Int.self) { group in
                        for change in [item.change, item.other] {
                            group.addTask { try await h.send(admin, .PATCH, item.path, json: change).status }
                        }
                        return try await group.reduce(into: []) { $0.append($1) }
                    }
                }
                #expect(met, "\(item.path): both changes reached the locked row")
                #expect(statuses == [200, 200], "\(item.path)")
                let stored = try await h.send(admin, .GET, item.path).data
                for (key, value) in row.changed {
                    let json = try String(decoding: JSONSerialization.data(withJSONObject: [stored[key] ?? NSNull()]), as: UTF8.self)
                    #expect(json == "[\(value)]", "\(item.path): \(key)")
                }
            }
        }
    }

    /// A removal or merge of people, as it starts: the tenant's people lock, then the rows.
    func changingPeople(_ tenant: TenantID, rows: String) -> String {
        "SELECT pg_advisory_xact_lock(hashtext('rampart.tickets.people'), hashtext('\(tenant)')), (\(rows))"
    }

    /// A CC has no foreign key: a removal of a person and a new ticket naming them take turns, so a
    /// removal that got there first leaves the ticket naming the person made again, not nobody.
    @Test func aPersonRemovedWhileANewTicketNamesThemLeavesNoCCNamingNobody() async throws {
        try await H.with { h in
            let admin = H.Actor.admin(acme)
            let person = try await h.send(admin, .POST, "/api/v1/people", json: #"{"name":"Ann","email":"ann@example.test"}"#)
            #expect(person.status == 201, "\(person.json)")
            let lock = changingPeople(acme.id, rows: "SELECT count(*) FROM (SELECT 1 FROM tickets.people WHERE id = '\(person.id)' FOR UPDATE) p")
            let (created, met) = try await h.database.whileLocked(lock, waiters: 1, then: { connection in
                // What the removal commits while the ticket is on its way.
                try await connection.query(PostgresQuery(unsafeSQL: "DELETE FROM tickets.people WHERE id = '\(person.id)'"), logger: TestDatabase.logger)
            }) {
                try await h.send(admin, .POST, "/api/v1/tickets", json: #"{"subject":"Printer on fire","message":{"body":"Toner."},"cc":[{"email":"ann@example.test"}]}"#)
            }
            #expect(met, "the new ticket waited for the removal")
            #expect(created.status == 201, "\(created.json)")
            let cc = created.data["cc_ids"] as? [String] ?? []
            #expect(cc.count == 1 && cc.first != person.id, "the CC is Ann made again")
            let dangling = try await h.asSuperuser {
                try await $0.values("""
                    SELECT count(*)::integer FROM tickets.tickets t, unnest(t.cc_ids) c WHERE NOT EXISTS (SELECT 1 FROM tickets.people p WHERE p.id = c)
                    """, as: Int.self)
            }
            #expect(dangling == [0])
        }
    }

    /// A customer's new ticket names their own person, read as the request starts: a merge of that
    /// person into another, committed meanwhile, used to leave the ticket naming a deleted person
    /// (a 500 from the foreign key). The ticket now waits for the merge and names the person the
    /// customer was merged into.
    @Test func aCustomersTicketMeetingAMergeOfTheirPersonNamesThePersonTheyBecame() async throws {
        try await H.with { h in
            let admin = H.Actor.admin(acme)
            let customer = H.Actor.customer(acme)
            let first = try await h.ticket(customer)
            let portal = try #require((try await h.send(admin, .GET, "/api/v1/tickets/\(first)").data["requester"] as? [String: Any])?["id"] as? String)
            let user = String(customer.subject.dropFirst("user:".count))
            let same = try await h.send(admin, .POST, "/api/v1/people", json: #"{"name":"Carla","email":"carla@example.test"}"#)
            #expect(same.status == 201, "\(same.json)")
            let lock = changingPeople(acme.id, rows: "SELECT count(*) FROM (SELECT 1 FROM tickets.people WHERE id IN ('\(portal)', '\(same.id)') ORDER BY id FOR UPDATE) p")
            let (created, met) = try await h.database.whileLocked(lock, waiters: 1, then: { connection in
                // The merge of the portal person into Carla, as the repository makes it.
                for sql in ["UPDATE tickets.tickets SET requester_id = '\(same.id)', version = version + 1 WHERE requester_id = '\(portal)'",
                            "DELETE FROM tickets.people WHERE id = '\(portal)'",
                            "UPDATE tickets.people SET user_id = '\(user)' WHERE id = '\(same.id)'"] {
                    try await connection.query(PostgresQuery(unsafeSQL: sql), logger: TestDatabase.logger)
                }
            }) {
                try await h.send(customer, .POST, "/api/v1/tickets", json: #"{"subject":"Still no invoice","message":{"body":"Order 4471."}}"#)
            }
            #expect(met, "the new ticket waited for the merge")
            #expect(created.status == 201, "\(created.json)")
            #expect((created.data["requester"] as? [String: Any])?["id"] as? String == same.id)
            let mine = try await h.send(customer, .GET, "/api/v1/tickets")
            #expect(Set(mine.list.compactMap { $0["id"] as? String }) == [first, created.id])
        }
    }

    /// A change of a ticket's CCs and a merge of the people on it take turns instead of
    /// deadlocking (the ticket locked, then its people, against the people locked, then their
    /// tickets): the change waits before it locks the ticket, and the merged CC ends up as the
    /// person it was merged into.
    @Test func aCCChangeMeetingAMergeOfItsPeopleNeitherDeadlocksNorLosesThem() async throws {
        try await H.with { h in
            let admin = H.Actor.admin(acme)
            let ann = try await h.send(admin, .POST, "/api/v1/people", json: #"{"name":"Ann","email":"ann@example.test"}"#)
            let annToo = try await h.send(admin, .POST, "/api/v1/people", json: #"{"name":"Ann A."}"#)
            let ticket = try await h.ticket(admin, extra: #","cc":[{"email":"ann@example.test"}]"#)
            let lock = changingPeople(acme.id, rows: "SELECT count(*) FROM (SELECT 1 FROM tickets.people WHERE id IN ('\(ann.id)', '\(annToo.id)') ORDER BY id FOR UPDATE) p")
            let (changed, met) = try await h.database.whileLocked(lock, waiters: 1, then: { connection in
                // The merge, holding both people, moves the tickets that name Ann to Ann A. and removes Ann.
                try await connection.query(PostgresQuery(unsafeSQL: """
                    UPDATE tickets.tickets SET cc_ids = array_replace(cc_ids, '\(ann.id)', '\(annToo.id)'), version = version + 1
                    WHERE cc_ids @> ARRAY['\(ann.id)']::uuid[]
                    """), logger: TestDatabase.logger)
                try await connection.query(PostgresQuery(unsafeSQL: "DELETE FROM tickets.people WHERE id = '\(ann.id)'"), logger: TestDatabase.logger)
                try await connection.query(PostgresQuery(unsafeSQL: "UPDATE tickets.people SET email = 'ann@example.test' WHERE id = '\(annToo.id)'"),
                                           logger: TestDatabase.logger)
            }) {
                try await h.send(admin, .PATCH, "/api/v1/tickets/\(ticket)", json: #"{"cc":[{"email":"ann@example.test"},{"email":"bo@example.test"}]}"#)
            }
            #expect(met, "the change waited for the merge")
            #expect(changed.status == 200, "\(changed.json)")
            let cc = Set(changed.data["cc_ids"] as? [String] ?? [])
            #expect(cc.count == 2 && cc.contains(annToo.id) && !cc.contains(ann.id))
        }
    }
}
