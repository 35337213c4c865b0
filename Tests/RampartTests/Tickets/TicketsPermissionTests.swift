import Foundation
import NIOHTTP1
import RampartCore
import Testing
@testable import Tickets

@Suite("Tickets: permissions matrix and cross-tenant isolation on every endpoint")
struct TicketsPermissionTests {
    typealias H = TicketsHarness
    let acme = H.Tenant.make("acme")
    let globex = H.Tenant.make("globex")

    /// Everyone the matrix asks, in one tenant.
    struct Cast {
        let admin, member, outsider, readOnly, requester, stranger, apiRead, apiWrite: H.Actor
        var all: [(String, H.Actor)] {
            [("admin", admin), ("agent in department", member), ("agent elsewhere", outsider), ("read-only agent", readOnly),
             ("requester", requester), ("other customer", stranger), ("api key read", apiRead), ("api key write", apiWrite)]
        }
    }

    func cast(_ tenant: H.Tenant) -> Cast {
        Cast(admin: .admin(tenant), member: .agent(tenant), outsider: .agent(tenant), readOnly: .readOnly(tenant), requester: .customer(tenant),
             stranger: .customer(tenant), apiRead: .apiKey(tenant, scopes: ["tickets:read"]), apiWrite: .apiKey(tenant, scopes: ["tickets:read", "tickets:write"]))
    }

    @Test func eachRoleGetsExactlyItsAccessOnEachEndpoint() async throws {
        try await H.with { h in
            let c = cast(acme)
            let department = try await h.send(c.admin, .POST, "/api/v1/departments",
                                              json: #"{"name":"Support","agent_ids":["\#(c.member.userID!)","\#(c.readOnly.userID!)"]}"#).id
            let ticket = try await h.ticket(c.requester, extra: #","department":"\#(department)""#)
            _ = try await h.send(c.admin, .POST, "/api/v1/tickets/\(ticket)/messages", json: #"{"body":"internal only","kind":"note"}"#)
            let field = try await h.send(c.admin, .POST, "/api/v1/custom-fields", json: #"{"key":"plan","label":"Plan","type":"text"}"#).id
            let person = try await h.send(c.admin, .POST, "/api/v1/people", json: #"{"name":"Ana","email":"ana@initech.test"}"#).id
            let organization = try await h.send(c.admin, .POST, "/api/v1/organizations", json: #"{"name":"Initech"}"#).id
            let team = try await h.send(c.admin, .POST, "/api/v1/teams", json: #"{"name":"Night"}"#).id
            let file = try await h.send(c.requester, .POST, "/api/v1/attachments",
                                        body: TicketsAttachmentTests.form(ticket: ticket, filename: "log.txt", content: Data("log line".utf8)),
                                        contentType: "multipart/form-data; boundary=\(TicketsAttachmentTests.boundary)").id
            #expect(try await h.send(c.requester, .POST, "/api/v1/tickets/\(ticket)/messages", json: #"{"body":"log attached","attachment_ids":["\#(file)"]}"#).status == 201)
            // Uploads: whoever may write to the ticket.
            var uploads: [Int] = []
            for (_, actor) in c.all {
                uploads.append(try await h.send(actor, .POST, "/api/v1/attachments",
                                                body: TicketsAttachmentTests.form(ticket: ticket, filename: "a.txt", content: Data("a".utf8)),
                                                contentType: "multipart/form-data; boundary=\(TicketsAttachmentTests.boundary)").status)
            }
            #expect(uploads == [201, 201, 404, 403, 201, 404, 403, 201])
            // Lists and search hold only what each caller reaches.
            let unassigned = try await h.ticket(c.admin, body: "toner everywhere")
            let expectedLists: [(H.Actor, Set<String>)] = [
                (c.admin, [ticket, unassigned]), (c.member, [ticket]), (c.outsider, []), (c.readOnly, [ticket]),
                (c.requester, [ticket]), (c.stranger, []), (c.apiRead, [ticket, unassigned]),
            ]
            for (actor, expected) in expectedLists {
                #expect(Set(try await h.send(actor, .GET, "/api/v1/tickets").list.compactMap { $0["id"] as? String }) == expected, "\(actor.subject)")
                #expect(Set(try await h.send(actor, .GET, "/api/v1/search?q=toner").list.compactMap { $0["id"] as? String }) == expected, "\(actor.subject)")
            }
            // (method, path, body, expected status per cast member in `Cast.all` order)
            let matrix: [(HTTPMethod, String, String?, [Int])] = [
                (.GET, "/api/v1/tickets/\(ticket)", nil, [200, 200, 404, 200, 200, 404, 200, 200]),
                (.GET, "/api/v1/tickets/\(ticket)/messages", nil, [200, 200, 404, 200, 200, 404, 200, 200]),
                (.PATCH, "/api/v1/tickets/\(ticket)", #"{"priority":"high"}"#, [200, 200, 404, 403, 403, 404, 403, 200]),
                (.POST, "/api/v1/tickets/\(ticket)/messages", #"{"body":"a note","kind":"note"}"#, [201, 201, 404, 403, 403, 404, 403, 201]),
                (.POST, "/api/v1/tickets/\(ticket)/messages", #"{"body":"a reply"}"#, [201, 201, 404, 403, 201, 404, 403, 201]),
                (.POST, "/api/v1/tickets", #"{"subject":"s","message":{"body":"b"}}"#, [201, 201, 201, 403, 201, 201, 403, 201]),
                (.POST, "/api/v1/tickets", #"{"subject":"s","message":{"body":"b"},"labels":["vip"]}"#, [201, 201, 201, 403, 403, 403, 403, 201]),
                (.GET, "/api/v1/search?q=toner", nil, [200, 200, 200, 200, 200, 200, 200, 200]),
                (.GET, "/api/v1/teams", nil, [200, 200, 200, 200, 403, 403, 200, 200]),
                (.PATCH, "/api/v1/custom-fields/\(field)", #"{"label":"Plan"}"#, [200, 403, 403, 403, 403, 403, 403, 200]),
                (.GET, "/api/v1/attachments/\(file)", nil, [200, 200, 404, 200, 200, 404, 200, 200]),
                (.GET, "/api/v1/people/\(person)", nil, [200, 200, 200, 200, 403, 403, 200, 200]),
                (.PATCH, "/api/v1/people/\(person)", #"{"name":"Ana B"}"#, [200, 200, 200, 403, 403, 403, 403, 200]),
                (.GET, "/api/v1/organizations/\(organization)", nil, [200, 200, 200, 200, 403, 403, 200, 200]),
                (.PATCH, "/api/v1/organizations/\(organization)", #"{"name":"Initech Ltd"}"#, [200, 200, 200, 403, 403, 403, 403, 200]),
                (.GET, "/api/v1/teams/\(team)", nil, [200, 200, 200, 200, 403, 403, 200, 200]),
                (.PATCH, "/api/v1/teams/\(team)", #"{"name":"Night shift"}"#, [200, 403, 403, 403, 403, 403, 403, 200]),
                (.GET, "/api/v1/departments", nil, [200, 200, 200, 200, 403, 403, 200, 200]),
                (.GET, "/api/v1/openapi.json", nil, [200, 200, 200, 200, 200, 200, 200, 200]),
                (.GET, "/api/v1/people", nil, [200, 200, 200, 200, 403, 403, 200, 200]),
                (.POST, "/api/v1/people", #"{"name":"P","email":"p\#(UUID().uuidString.prefix(6))@x.test"}"#, [201, 201, 201, 403, 403, 403, 403, 201]),
                (.GET, "/api/v1/organizations", nil, [200, 200, 200, 200, 403, 403, 200, 200]),
                (.POST, "/api/v1/organizations", #"{"name":"Org \#(UUID().uuidString.prefix(6))"}"#, [201, 201, 201, 403, 403, 403, 403, 201]),
                (.GET, "/api/v1/departments/\(department)", nil, [200, 200, 200, 200, 403, 403, 200, 200]),
                (.PATCH, "/api/v1/departments/\(department)", #"{"resolution_minutes":600}"#, [200, 403, 403, 403, 403, 403, 403, 200]),
                (.POST, "/api/v1/teams", #"{"name":"T \#(UUID().uuidString.prefix(6))"}"#, [201, 403, 403, 403, 403, 403, 403, 201]),
                (.GET, "/api/v1/custom-fields", nil, [200, 200, 200, 200, 200, 200, 200, 200]),
                (.POST, "/api/v1/custom-fields", #"{"key":"k\#(UUID().uuidString.prefix(6).lowercased().filter(\.isLetter))","label":"L","type":"number"}"#, [201, 403, 403, 403, 403, 403, 403, 201]),
                (.GET, "/api/v1/tickets/settings", nil, [200, 200, 200, 200, 403, 403, 200, 200]),
                (.PATCH, "/api/v1/tickets/settings", #"{"card_keep_last":4}"#, [200, 403, 403, 403, 403, 403, 403, 200]),
            ]
            for (method, path, body, expected) in matrix {
                var got: [Int] = []
                for (index, (_, actor)) in c.all.enumerated() {
                    // Creates use unique bodies per caller so names never collide.
                    let unique = body?.replacingOccurrences(of: "\"name\":\"Org ", with: "\"name\":\"Org \(index) ")
                        .replacingOccurrences(of: "\"name\":\"T ", with: "\"name\":\"T \(index) ")
                        .replacingOccurrences(of: "@x.test", with: "\(index)@x.test")
                        .replacingOccurrences(of: "\"key\":\"k", with: "\"key\":\"k\(["a", "b", "c", "d", "e", "f", "g", "h"][index])")
                    got.append(try await h.send(actor, method, path, json: unique).status)
                }
                #expect(got == expected, "\(method) \(path)")
            }
            // Deleting: refused to readers and customers (403 where they see it, 404 where not), allowed to writers.
            for (actor, status) in [(c.readOnly, 403), (c.requester, 403), (c.stranger, 404), (c.outsider, 404), (c.apiRead, 403)] {
                #expect(try await h.send(actor, .DELETE, "/api/v1/tickets/\(ticket)").status == status)
            }
            for writer in [c.member, c.apiWrite, c.admin] {
                #expect(try await h.send(writer, .DELETE, "/api/v1/tickets/\(ticket)").status == 204)
                #expect(try await h.send(c.requester, .GET, "/api/v1/tickets/\(ticket)").status == 404)
                #expect(try await h.send(c.readOnly, .POST, "/api/v1/tickets/\(ticket)/restore").status == 403)
                #expect(try await h.send(writer, .POST, "/api/v1/tickets/\(ticket)/restore").status == 200)
            }
            // Customers see public replies only, never notes.
            let seen = try await h.send(c.requester, .GET, "/api/v1/tickets/\(ticket)/messages").list.compactMap { $0["kind"] as? String }
            #expect(!seen.isEmpty && seen.allSatisfy { $0 == "reply" })
            let staff = try await h.send(c.member, .GET, "/api/v1/tickets/\(ticket)/messages").list.compactMap { $0["kind"] as? String }
            #expect(staff.contains("note"))
            // An agent reaches a ticket outside their departments once it is assigned to them.
            #expect(try await h.send(c.admin, .PATCH, "/api/v1/tickets/\(ticket)", json: #"{"assignee_id":"\#(c.outsider.userID!)"}"#).status == 200)
            #expect(try await h.send(c.outsider, .GET, "/api/v1/tickets/\(ticket)").status == 200)
            // Without a principal, or as an operator, nothing.
            #expect(try await h.send(nil, .GET, "/api/v1/tickets").status == 401)
            var op = c.admin
            op.kind = .`operator`
            #expect(try await h.send(op, .GET, "/api/v1/tickets").status == 403)
            var scopeless = c.apiRead
            scopeless.scopes = []
            #expect(try await h.send(scopeless, .GET, "/api/v1/tickets").status == 403)
        }
    }

    @Test func customersSeeTheirOrganizationsTicketsOnlyWhereTheTenantAllows() async throws {
        try await H.with { h in
            let c = cast(acme)
            let colleague = H.Actor.customer(acme)
            let ticket = try await h.ticket(c.requester)
            _ = try await h.ticket(colleague)
            let organization = try await h.send(c.admin, .POST, "/api/v1/organizations", json: #"{"name":"Initech"}"#).id
            for customer in [c.requester, colleague] {
                let person = try await h.send(c.admin, .GET, "/api/v1/people?limit=100").list.first { ($0["user_id"] as? String)?.lowercased() == customer.userID!.uuidString.lowercased() }
                let id = try #require(person?["id"] as? String)
                #expect(try await h.send(c.admin, .PATCH, "/api/v1/people/\(id)", json: #"{"organization_id":"\#(organization)"}"#).status == 200)
            }
            // Organization membership is recorded on tickets created after it.
            let shared = try await h.ticket(c.requester)
            #expect(try await h.send(colleague, .GET, "/api/v1/tickets/\(shared)").status == 404)
            #expect(try await h.send(c.admin, .PATCH, "/api/v1/tickets/settings", json: #"{"customers_see_organization":true}"#).status == 200)
            #expect(try await h.send(colleague, .GET, "/api/v1/tickets/\(shared)").status == 200)
            #expect(try await h.send(colleague, .GET, "/api/v1/tickets/\(ticket)").status == 404)
            #expect(try await h.send(colleague, .PATCH, "/api/v1/tickets/\(shared)", json: #"{"priority":"low"}"#).status == 403)
            #expect(try await h.send(c.stranger, .GET, "/api/v1/tickets/\(shared)").status == 404)
        }
    }

    @Test func anotherTenantsIdsAre404OnEveryEndpointAndNeverData() async throws {
        try await H.with { h in
            let a = H.Actor.admin(acme)
            let department = try await h.send(a, .POST, "/api/v1/departments", json: #"{"name":"Support"}"#).id
            let team = try await h.send(a, .POST, "/api/v1/teams", json: #"{"name":"Night"}"#).id
            let organization = try await h.send(a, .POST, "/api/v1/organizations", json: #"{"name":"Initech"}"#).id
            let person = try await h.send(a, .POST, "/api/v1/people", json: #"{"name":"Ana","email":"ana@initech.test"}"#).id
            let field = try await h.send(a, .POST, "/api/v1/custom-fields", json: #"{"key":"plan","label":"Plan","type":"text"}"#).id
            let ticket = try await h.ticket(a, subject: "acmesecret subject", body: "acmesecret body")
            let upload = try await h.send(a, .POST, "/api/v1/attachments", body: TicketsAttachmentTests.form(ticket: ticket, filename: "a.txt", content: Data("acmesecret file".utf8)),
                                          contentType: "multipart/form-data; boundary=\(TicketsAttachmentTests.boundary)")
            #expect(upload.status == 201)
            let attachment = upload.id

            let g = H.Actor.admin(globex)
            let attempts: [(HTTPMethod, String, String?)] = [
                (.GET, "/api/v1/tickets/\(ticket)", nil),
                (.PATCH, "/api/v1/tickets/\(ticket)", #"{"priority":"low"}"#),
                (.DELETE, "/api/v1/tickets/\(ticket)", nil),
                (.POST, "/api/v1/tickets/\(ticket)/restore", nil),
                (.GET, "/api/v1/tickets/\(ticket)/messages", nil),
                (.POST, "/api/v1/tickets/\(ticket)/messages", #"{"body":"hi"}"#),
                (.GET, "/api/v1/people/\(person)", nil),
                (.PATCH, "/api/v1/people/\(person)", #"{"name":"X"}"#),
                (.GET, "/api/v1/organizations/\(organization)", nil),
                (.PATCH, "/api/v1/organizations/\(organization)", #"{"name":"X"}"#),
                (.GET, "/api/v1/departments/\(department)", nil),
                (.PATCH, "/api/v1/departments/\(department)", #"{"name":"X"}"#),
                (.GET, "/api/v1/teams/\(team)", nil),
                (.PATCH, "/api/v1/teams/\(team)", #"{"name":"X"}"#),
                (.PATCH, "/api/v1/custom-fields/\(field)", #"{"label":"X"}"#),
                (.GET, "/api/v1/attachments/\(attachment)", nil),
                (.DELETE, "/api/v1/people/\(person)", nil),
                (.DELETE, "/api/v1/organizations/\(organization)", nil),
                (.DELETE, "/api/v1/departments/\(department)", nil),
                (.DELETE, "/api/v1/teams/\(team)", nil),
                (.DELETE, "/api/v1/custom-fields/\(field)", nil),
            ]
            for (method, path, body) in attempts {
                let reply = try await h.send(g, method, path, json: body)
                #expect(reply.status == 404, "\(method) \(path)")
                #expect(!String(decoding: reply.body, as: UTF8.self).contains("acmesecret"), "\(method) \(path)")
            }
            let foreignUpload = try await h.send(g, .POST, "/api/v1/attachments", body: TicketsAttachmentTests.form(ticket: ticket, filename: "b.txt", content: Data("x".utf8)),
                                                 contentType: "multipart/form-data; boundary=\(TicketsAttachmentTests.boundary)")
            #expect(foreignUpload.status == 404)
            let foreignReference = try await h.send(g, .POST, "/api/v1/tickets", json: #"{"subject":"s","message":{"body":"b"},"department":"\#(department)","team_id":"\#(team)"}"#)
            #expect(foreignReference.status == 422)
            #expect(Set(foreignReference.fields) == ["department", "team_id"])
            #expect(try await h.send(g, .GET, "/api/v1/tickets?limit=100").list.isEmpty)
            #expect(try await h.send(g, .GET, "/api/v1/search?q=acmesecret").list.isEmpty)
            #expect(try await h.send(g, .GET, "/api/v1/people").list.isEmpty)
            #expect(try await h.send(g, .GET, "/api/v1/custom-fields").list.isEmpty)
            // Acme's data is untouched.
            #expect(try await h.send(a, .GET, "/api/v1/tickets/\(ticket)").data["priority"] as? String == "normal")
            #expect(try await h.send(a, .GET, "/api/v1/organizations/\(organization)").data["name"] as? String == "Initech")
            for path in ["people/\(person)", "departments/\(department)", "teams/\(team)"] {
                #expect(try await h.send(a, .GET, "/api/v1/\(path)").status == 200, "\(path)")
            }
            #expect(try await h.send(a, .GET, "/api/v1/custom-fields").list.count == 1)
            // Emptying globex's recycle bin leaves acme's alone.
            #expect(try await h.send(a, .DELETE, "/api/v1/tickets/\(ticket)").status == 204)
            #expect(try await h.send(g, .DELETE, "/api/v1/tickets/recycle-bin").data["deleted"] as? Int == 0)
            #expect(try await h.send(a, .GET, "/api/v1/tickets?deleted=true").list.count == 1)
        }
    }
}
