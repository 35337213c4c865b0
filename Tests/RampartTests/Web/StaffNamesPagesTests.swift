import Foundation
@testable import Identity
import RampartCore
import RampartSecurity
import RampartTransport
import Testing
@testable import Tickets

/// Agents and admins by name on the agent console: tickets asks the real identity's staff
/// directory over mutual TLS (the shipped allow-list), and pages still answer with short ids
/// when identity is down or silent.
@Suite("Web: staff names in the agent console")
struct StaffNamesPagesTests {
    typealias Actor = TicketsHarness.Actor
    static let hostile = "Zed <script>window.pwned=1</script>"

    func page(_ harness: TicketsHarness, _ actor: Actor, _ path: String) async throws -> (status: Int, html: String) {
        let reply = try await harness.send(actor, .GET, path, contentType: "text/html")
        return (reply.status, String(decoding: reply.body, as: UTF8.self))
    }

    /// The position of `text` in `html` (the test fails when it is missing).
    func position(_ text: String, in html: String) throws -> String.Index {
        try #require(html.range(of: text), "\(text) is on the page").lowerBound
    }

    @Test func assigneesAuthorsAndTheSignedInUserShowByName() async throws {
        try await StaffDirectoryTests.withIdentity { identity, pki, database in
            let acme = try await StaffDirectoryTests.createTenant("acme", [
                ("Ada Admin", "admin"), ("Bob Builder", "agent"), ("Ann Archer", "agent"), (Self.hostile, "agent"), ("Dora Departed", "agent"),
                ("Carl Customer", "customer"),
            ], identity: identity, pki: pki)
            let ids = try acme.ids.mapValues { try #require(UUID(uuidString: $0)) }
            _ = try await database.with(database.superuserHere) { client in
                try await client.query("UPDATE identity.users SET status = 'deactivated' WHERE id = \(ids["Dora Departed"]!)")
            }
            try await TicketsHarness.with(pki: pki, database: database, identityURL: identity.baseURL) { harness in
                let tenant = TicketsHarness.Tenant(id: try #require(TenantID(acme.tenant)), slug: "acme")
                let admin = Actor.admin(tenant, id: ids["Ada Admin"]!).inBrowser()
                let bob = Actor.agent(tenant, id: ids["Bob Builder"]!)
                let zed = Actor.agent(tenant, id: ids[Self.hostile]!)
                let customer = Actor.customer(tenant, id: ids["Carl Customer"]!)
                let members = ["Bob Builder", "Ann Archer", Self.hostile, "Dora Departed"].map { "\"\(ids[$0]!.uuidString.lowercased())\"" }
                let department = try await harness.send(admin, .POST, "/api/v1/departments", json: #"{"name":"Billing","agent_ids":[\#(members.joined(separator: ","))]}"#)
                #expect(department.status == 201)
                let ticket = try await harness.ticket(customer, subject: "Invoice twice", extra: #","department":"\#(department.id)""#).lowercased()
                let bobID = ids["Bob Builder"]!.uuidString.lowercased()
                #expect(try await harness.send(admin, .PATCH, "/api/v1/tickets/\(ticket)", json: #"{"assignee_id":"\#(bobID)"}"#).status == 200)
                #expect(try await harness.send(bob, .POST, "/api/v1/tickets/\(ticket)/messages", json: #"{"body":"Refund on its way."}"#).status == 201)
                #expect(try await harness.send(zed, .POST, "/api/v1/tickets/\(ticket)/messages", json: #"{"body":"Checked the ledger.","kind":"note"}"#).status == 201)

                let list = try await page(harness, admin, "/agent/tickets?view=all")
                #expect(list.status == 200)
                #expect(list.html.contains(#"<td class="optional">Bob Builder</td>"#), "the list's assignee column names the agent")
                #expect(list.html.contains("Ada Admin"), "the header bar names who is signed in")
                #expect(!list.html.contains("Admin \(PageModels.shortID(admin.subject))"))

                let opened = try await page(harness, admin, "/agent/tickets/\(ticket)")
                #expect(opened.status == 200)
                #expect(opened.html.contains("<dt>Assignee</dt><dd>Bob Builder</dd>"))
                #expect(opened.html.contains("<span>Bob Builder</span>"), "the reply's author by name")
                // A name is escaped like every value: the script in it is inert text.
                #expect(opened.html.contains("<span>Zed &lt;script&gt;window.pwned=1&lt;/script&gt;</span>"), "the note's author, escaped")
                #expect(!opened.html.contains("<script>window.pwned"))
                #expect(!opened.html.contains("Agent \(bobID.prefix(8))"))
                // The Change form: Unassigned, Me, then the department's active members by name.
                let unassigned = try position(#"<option value="">Unassigned</option>"#, in: opened.html)
                let me = try position(#">Me</option>"#, in: opened.html)
                let ann = try position(#">Ann Archer</option>"#, in: opened.html)
                let bobOption = try position(#"<option value="\#(bobID)" selected>Bob Builder</option>"#, in: opened.html)
                let zedOption = try position(#">Zed &lt;script&gt;window.pwned=1&lt;/script&gt;</option>"#, in: opened.html)
                #expect(unassigned < me && me < ann && ann < bobOption && bobOption < zedOption)
                #expect(!opened.html.contains(">Dora Departed</option>"), "a deactivated member is not offered")
                #expect(!opened.html.contains("Carl Customer</option>"))

                let mePage = try await page(harness, admin, "/agent/me")
                #expect(mePage.html.contains("<dt>Name</dt><dd>Ada Admin</dd>"))
                let helpdesk = try await page(harness, admin, "/admin/helpdesk/departments")
                #expect(helpdesk.status == 200 && helpdesk.html.contains("Signed in as Ada Admin"))

                // Customers still see "Support", never an agent's name.
                let portal = try await page(harness, customer.inBrowser(), "/portal/tickets/\(ticket)")
                #expect(portal.status == 200)
                #expect(portal.html.contains("<span>Support</span>") && !portal.html.contains("Bob Builder"))
                #expect(!portal.html.contains("Zed") && !portal.html.contains("Checked the ledger."))

                // The JSON API stays id-based.
                let api = try await harness.send(admin, .GET, "/api/v1/tickets/\(ticket)")
                #expect((api.data["assignee_id"] as? String)?.lowercased() == bobID && !String(decoding: api.body, as: UTF8.self).contains("Bob Builder"))
            }
        }
    }

    /// Identity refusing connections, or accepting and never answering: the pages answer 200
    /// with short ids; a silent identity holds a page up for the directory's deadline (2 s; the
    /// bound below leaves room for a loaded machine but not for the client's 30-s default), and
    /// the next page does not call it again.
    @Test(arguments: [false, true])
    func pagesRenderWithShortIDsWhenIdentityIsDown(silent: Bool) async throws {
        let pki = try TestPKI()
        let upstream = silent ? try await SilentUpstream.start(pki: pki) : nil
        let url = "https://127.0.0.1:\(try upstream?.port ?? RunningService.freePort())"
        try await TicketsHarness.with(pki: pki, identityURL: url) { harness in
            let tenant = TicketsHarness.Tenant.make("acme")
            let admin = Actor.admin(tenant).inBrowser()
            let agentID = UUID()
            let agent = Actor.agent(tenant, id: agentID)
            let ticket = try await harness.ticket(Actor.customer(tenant)).lowercased()
            #expect(try await harness.send(admin, .PATCH, "/api/v1/tickets/\(ticket)", json: #"{"assignee_id":"\#(agentID.uuidString.lowercased())"}"#).status == 200)
            #expect(try await harness.send(agent, .POST, "/api/v1/tickets/\(ticket)/messages", json: #"{"body":"On it."}"#).status == 201)

            let started = ContinuousClock.now
            let opened = try await page(harness, admin, "/agent/tickets/\(ticket)")
            #expect(ContinuousClock.now - started < .seconds(15), "a page waits at most the directory's deadline for names")
            #expect(opened.status == 200)
            let short = PageModels.shortID(agentID.uuidString)
            #expect(opened.html.contains("<dt>Assignee</dt><dd>Agent \(short)</dd>"))
            #expect(opened.html.contains("<span>Agent \(short)</span>"))
            #expect(opened.html.contains("Admin \(PageModels.shortID(admin.subject))"))
            // Within the retry pause the next page does not call identity again.
            let calls = upstream?.connections
            #expect(calls ?? 1 > 0)
            #expect(try await page(harness, admin, "/agent/tickets?view=all").status == 200)
            #expect(upstream?.connections == calls)
        }
        await upstream?.stop()
    }

    /// Names already known stay on the pages while identity is away; a refresh that fails keeps them.
    @Test func namesSurviveIdentityGoingAway() async throws {
        let pki = try TestPKI()
        let database = try await TestDatabase.make()
        let port = try RunningService.freePort()
        var settings = StaffDirectory.Settings()
        settings.freshFor = .zero
        settings.retryAfter = .zero
        try await TicketsHarness.with(pki: pki, database: database, identityURL: "https://127.0.0.1:\(port)", staffSettings: settings) { harness in
            let (admin, ticket) = try await RunningService.with(
                .identity, region: TicketsHarness.region, pki: pki, signingKey: .generate(), database: database, migrations: IdentityMigrations.all,
                port: port, routes: { router, runtime in try IdentityService.register(on: router, runtime: runtime, keys: try IdentityKeys(config: runtime.config)) }
            ) { identity in
                let acme = try await StaffDirectoryTests.createTenant("acme", [("Ada Admin", "admin"), ("Bob Builder", "agent")], identity: identity, pki: pki)
                let tenant = TicketsHarness.Tenant(id: try #require(TenantID(acme.tenant)), slug: "acme")
                let admin = Actor.admin(tenant, id: try #require(acme.ids["Ada Admin"].flatMap(UUID.init(uuidString:)))).inBrowser()
                let ticket = try await harness.ticket(Actor.customer(tenant)).lowercased()
                #expect(try await harness.send(admin, .PATCH, "/api/v1/tickets/\(ticket)", json: #"{"assignee_id":"\#(acme.ids["Bob Builder"] ?? "")"}"#).status == 200)
                #expect(try await page(harness, admin, "/agent/tickets/\(ticket)").html.contains("<dt>Assignee</dt><dd>Bob Builder</dd>"))
                return (admin, ticket)
            }
            // Identity has stopped; every page asks again (nothing is fresh) and keeps the names it had.
            let opened = try await page(harness, admin, "/agent/tickets/\(ticket)")
            #expect(opened.status == 200)
            #expect(opened.html.contains("<dt>Assignee</dt><dd>Bob Builder</dd>") && opened.html.contains("Ada Admin"))
        }
    }
}
