import Foundation
import NIOHTTP1
import PostgresNIO
import RampartCore
import Testing
@testable import Tickets

@Suite("Tickets: removing departments, teams, custom fields, people and organizations; emptying the recycle bin")
struct TicketsRemovalTests {
    typealias H = TicketsHarness
    let acme = H.Tenant.make("acme")
    let globex = H.Tenant.make("globex")

    /// Every caller of `tenant` that is not an admin (with write access): each must get `status`.
    func nonAdmins(_ tenant: H.Tenant) -> [H.Actor] {
        [.agent(tenant), .readOnly(tenant), .customer(tenant), .apiKey(tenant, scopes: ["tickets:read"])]
    }

    /// The `changes` of the audit events with `action` on resource `id`, as `key=value` strings.
    func events(_ h: H, _ action: String, id: String) async throws -> [String] {
        try await h.asSuperuser { client in
            try await client.values("""
                SELECT COALESCE((SELECT string_agg(key || '=' || COALESCE(value->>1, ''), ',' ORDER BY key) FROM jsonb_each(event->'changes')), '')
                FROM tickets.outbox_events WHERE event->>'action' = \(action) AND event->'resource'->>'id' = \(id.lowercased())
                """, as: String.self)
        }
    }

    @Test func aDepartmentWithTicketsGoesOnlyByMovingThemAndTheyTakeTheNewSLA() async throws {
        try await H.with { h in
            let admin = H.Actor.admin(acme), agent = H.Actor.agent(acme)
            let old = try await h.send(admin, .POST, "/api/v1/departments", json: #"{"name":"Old","first_response_minutes":60,"agent_ids":["\#(agent.userID!)"]}"#).id
            let new = try await h.send(admin, .POST, "/api/v1/departments", json: #"{"name":"New","first_response_minutes":600,"resolution_minutes":6000}"#).id
            let empty = try await h.send(admin, .POST, "/api/v1/departments", json: #"{"name":"Empty"}"#).id
            let open = try await h.ticket(admin, extra: #","department":"\#(old)""#)
            let binned = try await h.ticket(admin, extra: #","department":"\#(old)""#)
            #expect(try await h.send(admin, .DELETE, "/api/v1/tickets/\(binned)").status == 204)
            let before = try await h.send(admin, .GET, "/api/v1/tickets/\(open)")

            for actor in nonAdmins(acme) {
                #expect(try await h.send(actor, .DELETE, "/api/v1/departments/\(old)?move_to=\(new)").status == 403, "\(actor.subject)")
            }
            let globexDepartment = try await h.send(H.Actor.admin(globex), .POST, "/api/v1/departments", json: #"{"name":"Theirs"}"#).id
            #expect(try await h.send(H.Actor.admin(globex), .DELETE, "/api/v1/departments/\(old)").status == 404)
            let inUse = try await h.send(admin, .DELETE, "/api/v1/departments/\(old)")
            #expect(inUse.status == 409)
            #expect(inUse.code == "department_in_use")
            for bad in ["move_to=\(old)", "move_to=\(globexDepartment)", "move_to=nope", "move_to=\(new)&move_to=\(empty)", "moveto=\(new)"] {
                let refused = try await h.send(admin, .DELETE, "/api/v1/departments/\(old)?\(bad)")
                #expect(refused.status == 422, "\(bad)")
                #expect(refused.fields.count == 1, "\(bad)")
            }
            // Nothing moved by the refusals.
            #expect(try await h.send(admin, .GET, "/api/v1/tickets/\(open)").data["version"] as? Int == before.data["version"] as? Int)
            #expect(try await h.send(agent, .GET, "/api/v1/tickets/\(open)").status == 200)

            #expect(try await h.send(admin, .DELETE, "/api/v1/departments/\(old)?move_to=\(new)").status == 204)
            #expect(try await h.send(admin, .GET, "/api/v1/departments/\(old)").status == 404)
            let moved = try await h.send(admin, .GET, "/api/v1/tickets/\(open)")
            #expect(moved.data["department_id"] as? String == new)
            #expect(moved.data["version"] as? Int == (before.data["version"] as? Int ?? 0) + 1)
            let created = try #require(moved.time("created_at"))
            let due = try #require(moved.time("first_response_due_at"))
            #expect(abs(due.timeIntervalSince(created) - 600 * 60) < 1)
            #expect(moved.data["resolution_due_at"] != nil)
            let restored = try await h.send(admin, .POST, "/api/v1/tickets/\(binned)/restore")
            #expect(restored.data["department_id"] as? String == new)
            // Its agents no longer reach the moved ticket through it.
            #expect(try await h.send(agent, .GET, "/api/v1/tickets/\(open)").status == 404)
            #expect(try await events(h, "department.deleted", id: old) == ["move_to=\(new.lowercased()),tickets_moved=2"])

            #expect(try await h.send(admin, .DELETE, "/api/v1/departments/\(empty)").status == 204)
            #expect(try await events(h, "department.deleted", id: empty) == ["tickets_moved=0"])
            #expect(try await h.send(admin, .DELETE, "/api/v1/departments/\(empty)").status == 404)
        }
    }

    @Test func aRemovedTeamLeavesItsTicketsOrHandsThemOn() async throws {
        try await H.with { h in
            let admin = H.Actor.admin(acme)
            let night = try await h.send(admin, .POST, "/api/v1/teams", json: #"{"name":"Night"}"#).id
            let day = try await h.send(admin, .POST, "/api/v1/teams", json: #"{"name":"Day"}"#).id
            let first = try await h.ticket(admin, extra: #","team_id":"\#(night)""#)
            let second = try await h.ticket(admin, extra: #","team_id":"\#(day)""#)
            for actor in nonAdmins(acme) {
                #expect(try await h.send(actor, .DELETE, "/api/v1/teams/\(night)").status == 403)
            }
            #expect(try await h.send(H.Actor.admin(globex), .DELETE, "/api/v1/teams/\(night)").status == 404)
            #expect(try await h.send(admin, .DELETE, "/api/v1/teams/\(night)?move_to=\(day)").status == 204)
            #expect(try await h.send(admin, .GET, "/api/v1/tickets/\(first)").data["team_id"] as? String == day)
            #expect(try await h.send(admin, .DELETE, "/api/v1/teams/\(day)").status == 204)
            for ticket in [first, second] {
                let reply = try await h.send(admin, .GET, "/api/v1/tickets/\(ticket)")
                #expect(reply.data["team_id"] == nil || reply.data["team_id"] is NSNull)
            }
            #expect(try await h.send(admin, .GET, "/api/v1/teams").list.isEmpty)
            #expect(try await events(h, "team.deleted", id: day) == ["tickets_moved=2"])
        }
    }

    @Test func aRemovedCustomFieldIsPurgedFromEveryTicketAndNoLongerAccepted() async throws {
        try await H.with { h in
            let admin = H.Actor.admin(acme)
            let reference = try await h.send(admin, .POST, "/api/v1/custom-fields", json: #"{"key":"order_ref","label":"Order","type":"text","required":true}"#).id
            _ = try await h.send(admin, .POST, "/api/v1/custom-fields", json: #"{"key":"tier","label":"Tier","type":"single_choice","options":["gold","silver"]}"#)
            let live = try await h.ticket(admin, extra: #","custom_fields":{"order_ref":"A-1","tier":"gold"}"#)
            let binned = try await h.ticket(admin, extra: #","custom_fields":{"order_ref":"B-2"}"#)
            #expect(try await h.send(admin, .DELETE, "/api/v1/tickets/\(binned)").status == 204)
            let before = try await h.send(admin, .GET, "/api/v1/tickets/\(live)")

            for actor in nonAdmins(acme) {
                #expect(try await h.send(actor, .DELETE, "/api/v1/custom-fields/\(reference)").status == 403)
            }
            #expect(try await h.send(H.Actor.admin(globex), .DELETE, "/api/v1/custom-fields/\(reference)").status == 404)
            #expect(try await h.send(admin, .DELETE, "/api/v1/custom-fields/\(reference)").status == 204)

            let after = try await h.send(admin, .GET, "/api/v1/tickets/\(live)")
            #expect(after.data["custom_fields"] as? [String: String] == ["tier": "gold"])
            #expect(after.data["version"] as? Int == (before.data["version"] as? Int ?? 0) + 1)
            let bin = try await h.send(admin, .GET, "/api/v1/tickets?deleted=true").list
            #expect(bin.count == 1)
            #expect((bin.first?["custom_fields"] as? [String: Any])?.isEmpty ?? true)
            // The key is unknown now, and no longer required.
            let patch = try await h.send(admin, .PATCH, "/api/v1/tickets/\(live)", json: #"{"custom_fields":{"order_ref":"C-3"}}"#)
            #expect(patch.status == 422)
            #expect(patch.fields == ["custom_fields.order_ref"])
            #expect(try await h.send(admin, .POST, "/api/v1/tickets", json: #"{"subject":"s","message":{"body":"b"}}"#).status == 201)
            #expect(try await h.send(admin, .GET, "/api/v1/custom-fields").list.compactMap { $0["key"] as? String } == ["tier"])
            #expect(try await events(h, "custom_field.deleted", id: reference) == ["tickets_purged=2"])
            #expect(try await h.send(admin, .DELETE, "/api/v1/custom-fields/\(reference)").status == 404)
        }
    }

    @Test func aPersonIsRemovedOnlyWhenNoTicketNamesThem() async throws {
        try await H.with { h in
            let admin = H.Actor.admin(acme)
            let requester = try await h.send(admin, .POST, "/api/v1/people", json: #"{"name":"Ana","email":"ana@initech.test"}"#).id
            let cc = try await h.send(admin, .POST, "/api/v1/people", json: #"{"name":"Bo","email":"bo@initech.test"}"#).id
            let nobody = try await h.send(admin, .POST, "/api/v1/people", json: #"{"name":"Cy","email":"cy@initech.test"}"#).id
            let ticket = try await h.ticket(admin, extra: #","requester":{"email":"ana@initech.test"},"cc":[{"email":"bo@initech.test"}]"#)
            #expect(try await h.send(admin, .DELETE, "/api/v1/tickets/\(ticket)").status == 204)

            for person in [requester, cc] {
                let refused = try await h.send(admin, .DELETE, "/api/v1/people/\(person)")
                #expect(refused.status == 409)
                #expect(refused.code == "person_has_tickets")
                #expect(try await h.send(admin, .GET, "/api/v1/people/\(person)").status == 200)
            }
            for actor in nonAdmins(acme) {
                #expect(try await h.send(actor, .DELETE, "/api/v1/people/\(nobody)").status == 403)
            }
            #expect(try await h.send(H.Actor.admin(globex), .DELETE, "/api/v1/people/\(nobody)").status == 404)
            #expect(try await h.send(admin, .DELETE, "/api/v1/people/\(nobody)").status == 204)
            #expect(try await h.send(admin, .GET, "/api/v1/people/\(nobody)").status == 404)
            #expect(try await events(h, "person.deleted", id: nobody) == [""])
            // The address is free again.
            #expect(try await h.send(admin, .POST, "/api/v1/people", json: #"{"name":"Cy","email":"cy@initech.test"}"#).status == 201)
        }
    }

    @Test func aRemovedOrganizationLetsGoOfItsPeopleAndTickets() async throws {
        try await H.with { h in
            let admin = H.Actor.admin(acme), customer = H.Actor.customer(acme), colleague = H.Actor.customer(acme)
            let organization = try await h.send(admin, .POST, "/api/v1/organizations", json: #"{"name":"Initech"}"#).id
            _ = try await h.ticket(customer)
            _ = try await h.ticket(colleague)
            for actor in [customer, colleague] {
                let person = try await h.send(admin, .GET, "/api/v1/people?limit=100").list.first { ($0["user_id"] as? String)?.lowercased() == actor.userID!.uuidString.lowercased() }
                #expect(try await h.send(admin, .PATCH, "/api/v1/people/\(try #require(person?["id"] as? String))", json: #"{"organization_id":"\#(organization)"}"#).status == 200)
            }
            #expect(try await h.send(admin, .PATCH, "/api/v1/tickets/settings", json: #"{"customers_see_organization":true}"#).status == 200)
            let shared = try await h.ticket(customer)
            #expect(try await h.send(colleague, .GET, "/api/v1/tickets/\(shared)").status == 200)
            let version = try await h.send(admin, .GET, "/api/v1/tickets/\(shared)").data["version"] as? Int ?? 0

            for actor in nonAdmins(acme) {
                #expect(try await h.send(actor, .DELETE, "/api/v1/organizations/\(organization)").status == 403)
            }
            #expect(try await h.send(H.Actor.admin(globex), .DELETE, "/api/v1/organizations/\(organization)").status == 404)
            #expect(try await h.send(admin, .DELETE, "/api/v1/organizations/\(organization)").status == 204)
            #expect(try await h.send(admin, .GET, "/api/v1/organizations/\(organization)").status == 404)
            #expect(try await h.send(admin, .GET, "/api/v1/people?organization=\(organization)").list.isEmpty)
            #expect(try await h.send(admin, .GET, "/api/v1/people").list.count == 2)
            let ticket = try await h.send(admin, .GET, "/api/v1/tickets/\(shared)")
            #expect(ticket.data["organization_id"] == nil || ticket.data["organization_id"] is NSNull)
            #expect(ticket.data["version"] as? Int == version + 1)
            // Organization-wide visibility ends; the requester keeps their own ticket.
            #expect(try await h.send(colleague, .GET, "/api/v1/tickets/\(shared)").status == 404)
            #expect(try await h.send(customer, .GET, "/api/v1/tickets/\(shared)").status == 200)
            #expect(try await events(h, "organization.deleted", id: organization) == ["people_detached=2,tickets_detached=1"])
        }
    }

    @Test func adminsEmptyTheRecycleBinOfTheirTenantOnly() async throws {
        try await H.with { h in
            let admin = H.Actor.admin(acme), globexAdmin = H.Actor.admin(globex)
            let kept = try await h.ticket(admin)
            var binned: [String] = []
            for _ in 0..<2 {
                let id = try await h.ticket(admin)
                #expect(try await h.send(admin, .POST, "/api/v1/tickets/\(id)/messages", json: #"{"body":"before it goes"}"#).status == 201)
                #expect(try await h.send(admin, .DELETE, "/api/v1/tickets/\(id)").status == 204)
                binned.append(id)
            }
            let theirs = try await h.ticket(globexAdmin)
            #expect(try await h.send(globexAdmin, .DELETE, "/api/v1/tickets/\(theirs)").status == 204)

            for actor in nonAdmins(acme) + [H.Actor.apiKey(acme, scopes: ["tickets:read", "tickets:write"]).with(roles: [])] {
                #expect(try await h.send(actor, .DELETE, "/api/v1/tickets/recycle-bin").status == 403, "\(actor.subject)")
            }
            let emptied = try await h.send(admin, .DELETE, "/api/v1/tickets/recycle-bin")
            #expect(emptied.status == 200)
            #expect(emptied.data["deleted"] as? Int == 2)
            #expect(try await h.send(admin, .GET, "/api/v1/tickets?deleted=true").list.isEmpty)
            #expect(try await h.send(admin, .GET, "/api/v1/tickets/\(kept)").status == 200)
            for id in binned {
                #expect(try await h.send(admin, .POST, "/api/v1/tickets/\(id)/restore").status == 404)
            }
            let binnedIDs = binned.compactMap(UUID.init(uuidString:))
            let leftovers = try await h.asSuperuser { client in
                try await client.values("""
                    SELECT count(*)::integer FROM tickets.messages WHERE ticket_id = ANY(\(binnedIDs))
                    """, as: Int.self)
            }
            #expect(leftovers == [0])
            #expect(try await h.send(globexAdmin, .GET, "/api/v1/tickets?deleted=true").list.count == 1)
            #expect(try await events(h, "tickets.recycle_bin_emptied", id: acme.id.description) == ["deleted=2"])
            // Emptying an empty bin is allowed and recorded too.
            #expect(try await h.send(admin, .DELETE, "/api/v1/tickets/recycle-bin").data["deleted"] as? Int == 0)
        }
    }
    @Test func mergingTwoPeopleHandsTheTicketsToTheOneThatStays() async throws {
        try await H.with { h in
            let admin = H.Actor.admin(acme), portal = H.Actor.customer(acme)
            let organization = try await h.send(admin, .POST, "/api/v1/organizations", json: #"{"name":"Initech"}"#).id
            let duplicate = try await h.send(admin, .POST, "/api/v1/people", json: #"{"name":"Ana (old)","email":"ana@old.test","organization_id":"\#(organization)"}"#).id
            let other = try await h.send(admin, .POST, "/api/v1/people", json: #"{"name":"Bo","email":"bo@initech.test"}"#).id
            let requested = try await h.ticket(admin, extra: #","requester":{"email":"ana@old.test"}"#)
            let copied = try await h.ticket(admin, extra: #","requester":{"email":"bo@initech.test"},"cc":[{"email":"ana@old.test"}]"#)
            // The portal user's own person, without an email, stays and takes the duplicate's.
            _ = try await h.ticket(portal)
            let person = try await h.send(admin, .GET, "/api/v1/people?limit=100").list.first { ($0["user_id"] as? String)?.lowercased() == portal.userID!.uuidString.lowercased() }
            let stays = try #require(person?["id"] as? String)
            let version = try await h.send(admin, .GET, "/api/v1/tickets/\(requested)").data["version"] as? Int ?? 0

            for actor in nonAdmins(acme) {
                #expect(try await h.send(actor, .POST, "/api/v1/people/\(duplicate)/merge", json: #"{"into":"\#(stays)"}"#).status == 403)
            }
            let globexPerson = try await h.send(H.Actor.admin(globex), .POST, "/api/v1/people", json: #"{"name":"Theirs","email":"t@globex.test"}"#).id
            #expect(try await h.send(H.Actor.admin(globex), .POST, "/api/v1/people/\(duplicate)/merge", json: #"{"into":"\#(globexPerson)"}"#).status == 404)
            for into in [duplicate, globexPerson, UUID().uuidString] {
                let refused = try await h.send(admin, .POST, "/api/v1/people/\(duplicate)/merge", json: #"{"into":"\#(into)"}"#)
                #expect(refused.status == 422)
                #expect(refused.fields == ["into"])
            }
            #expect(try await h.send(admin, .POST, "/api/v1/people/\(duplicate)/merge", json: #"{"into":"\#(stays)","keep":"both"}"#).status == 400)

            let merged = try await h.send(admin, .POST, "/api/v1/people/\(duplicate)/merge", json: #"{"into":"\#(stays)"}"#)
            #expect(merged.status == 200)
            #expect(merged.data["id"] as? String == stays)
            #expect(merged.data["email"] as? String == "ana@old.test")
            #expect(merged.data["organization_id"] as? String == organization)
            #expect(try await h.send(admin, .GET, "/api/v1/people/\(duplicate)").status == 404)
            let moved = try await h.send(admin, .GET, "/api/v1/tickets/\(requested)")
            #expect((moved.data["requester"] as? [String: Any])?["id"] as? String == stays)
            #expect(moved.data["version"] as? Int == version + 1)
            #expect(try await h.send(admin, .GET, "/api/v1/tickets/\(copied)").data["cc_ids"] as? [String] == [stays])
            // The portal user now reaches the ticket their duplicate requested.
            #expect(try await h.send(portal, .GET, "/api/v1/tickets/\(requested)").status == 200)
            #expect(try await events(h, "person.merged", id: stays) == ["merged_from=\(duplicate.lowercased()),tickets_cc=1,tickets_requested=1"])

            // Two portal users stay two people.
            let second = H.Actor.customer(acme)
            _ = try await h.ticket(second)
            let secondPerson = try #require(try await h.send(admin, .GET, "/api/v1/people?limit=100").list.first { ($0["user_id"] as? String)?.lowercased() == second.userID!.uuidString.lowercased() }?["id"] as? String)
            let both = try await h.send(admin, .POST, "/api/v1/people/\(secondPerson)/merge", json: #"{"into":"\#(stays)"}"#)
            #expect(both.status == 409)
            #expect(both.code == "people_both_portal_users")
            _ = other
        }
    }
}

extension TicketsHarness.Reply {
    /// The time `data[key]` holds, if it holds one.
    func time(_ key: String) -> Date? {
        (data[key] as? String).flatMap(Timestamp.parse)
    }
}

extension TicketsHarness.Actor {
    /// The same caller with other roles.
    func with(roles: [String]) -> Self {
        var copy = self
        copy.roles = roles
        return copy
    }
}
