import Foundation
import NIOHTTP1
import RampartCore
import RampartSecurity
@testable import Tickets
import Testing

/// The helpdesk's admin pages (`/admin/helpdesk`: departments, teams and their members, custom
/// fields, card redaction and ticket settings) against the real service and database, called as the gateway with
/// browser-session principals, as `TicketsPagesTests` does.
@Suite("Web: admin console, helpdesk settings")
struct AdminHelpdeskPagesTests {
    typealias Actor = TicketsHarness.Actor
    static let tenant = TicketsHarness.Tenant.make("acme")
    static let other = TicketsHarness.Tenant.make("globex")
    static let xss = TicketsPagesTests.xss

    func page(_ harness: TicketsHarness, _ actor: Actor, _ path: String) async throws -> (status: Int, html: String, headers: HTTPHeaders) {
        let reply = try await harness.send(actor, .GET, path, contentType: "text/html")
        return (reply.status, String(decoding: reply.body, as: UTF8.self), reply.headers)
    }

    /// A urlencoded form post, the session's token added unless `token` says otherwise.
    func post(_ harness: TicketsHarness, _ actor: Actor, _ path: String, _ fields: [(String, String)], token: String?? = .none) async throws
        -> (status: Int, html: String, location: String?) {
        let csrf = token ?? actor.csrfToken
        let all = fields + (csrf.map { [("csrf_token", $0)] } ?? [])
        let reply = try await harness.send(actor, .POST, path, body: TicketsPagesTests.form(all), contentType: "application/x-www-form-urlencoded")
        return (reply.status, String(decoding: reply.body, as: UTF8.self), reply.headers.first(name: "location"))
    }

    /// The versions a page's forms carry (hidden `version` fields), in page order: a group's
    /// page has its details' then its members'.
    static func versions(_ html: String) -> [String] {
        html.matches(of: /name="version" value="([^"]*)"/).map { String($0.output.1) }
    }

    /// The first version `path`'s page shows.
    func version(_ harness: TicketsHarness, _ actor: Actor, _ path: String, form index: Int = 0) async throws -> (String, String) {
        let versions = Self.versions(try await page(harness, actor, path).html)
        try #require(versions.count > index)
        return ("version", versions[index])
    }

    /// The audit events tickets wrote for `action`, as their JSON text.
    func events(_ harness: TicketsHarness, _ action: String) async throws -> [String] {
        try await harness.asSuperuser { client in
            try await client.values("SELECT event::text FROM tickets.outbox_events WHERE event->>'action' = \(action) ORDER BY occurred_at", as: String.self)
        }
    }

    @Test func adminsManageDepartmentsWithTheAPIsRulesAndAudit() async throws {
        try await TicketsHarness.with { harness in
            let admin = Actor.admin(Self.tenant).inBrowser()
            let list = try await page(harness, admin, "/admin/helpdesk/departments")
            #expect(list.status == 200)
            TicketsPagesTests.assertPageHeaders(list.headers)
            #expect(list.html.contains(#"<a href="/admin/helpdesk/departments" aria-current="page">Departments</a>"#))
            #expect(list.html.contains(#"href="/admin/audit/log""#), "one admin bar across services")

            let created = try await post(harness, admin, "/admin/helpdesk/departments", [("name", "Billing"), ("first_response_minutes", "60"), ("resolution_minutes", "")])
            #expect(created.status == 303)
            let path = try #require(created.location?.split(separator: "?").first.map(String.init))
            let id = String(path.dropFirst("/admin/helpdesk/departments/".count))
            let api = try await harness.send(admin, .GET, "/api/v1/departments/\(id)")
            #expect(api.data["name"] as? String == "Billing" && api.data["first_response_minutes"] as? Int == 60)
            #expect(api.data["resolution_minutes"] is NSNull || api.data["resolution_minutes"] == nil)
            #expect(try await events(harness, "department.created").count == 1)

            // Renamed, one SLA cleared and one set, through the API's body and checks.
            let edit = try await page(harness, admin, path + "?done=created")
            #expect(edit.html.contains("Created.") && edit.html.contains(#"value="Billing""#))
            let saved = try await post(harness, admin, path, [("name", "Billing & Refunds"), ("first_response_minutes", ""), ("resolution_minutes", "480"),
                                                              try await version(harness, admin, path)])
            #expect(saved.status == 303)
            let changed = try await harness.send(admin, .GET, "/api/v1/departments/\(id)")
            #expect(changed.data["name"] as? String == "Billing & Refunds" && changed.data["resolution_minutes"] as? Int == 480)
            #expect(changed.data["first_response_minutes"] == nil || changed.data["first_response_minutes"] is NSNull)
            #expect(try await events(harness, "department.updated").count == 1)

            // Bad input: field errors, what was typed kept, nothing changed.
            let bad = try await post(harness, admin, path, [("name", "Kept name"), ("first_response_minutes", "soon"), ("resolution_minutes", "0")])
            #expect(bad.status == 422)
            #expect(bad.html.contains(#"id="first_response_minutes-error""#) && bad.html.contains(#"value="Kept name""#) && bad.html.contains(#"value="soon""#))
            let duplicate = try await post(harness, admin, "/admin/helpdesk/departments", [("name", "Billing & Refunds")])
            #expect(duplicate.status == 422 && duplicate.html.contains(#"id="name-error""#))
            #expect(try await harness.send(admin, .GET, "/api/v1/departments").list.count == 1)

            // The API's removal rule: a department with tickets only goes by moving them.
            let support = try await post(harness, admin, "/admin/helpdesk/departments", [("name", "Support")])
            let supportID = try #require(support.location?.split(separator: "?").first.map { String($0.dropFirst("/admin/helpdesk/departments/".count)) })
            _ = try await harness.ticket(admin, extra: #","department":"\#(id)""#)
            let refused = try await post(harness, admin, path + "/remove", [("move_to", "")])
            #expect(refused.status == 422 && refused.html.contains("Billing &amp; Refunds"))
            #expect(try await harness.send(admin, .GET, "/api/v1/departments/\(id)").status == 200)
            let removed = try await post(harness, admin, path + "/remove", [("move_to", supportID)])
            #expect(removed.status == 303 && removed.location == "/admin/helpdesk/departments?done=removed")
            #expect(try await harness.send(admin, .GET, "/api/v1/departments/\(id)").status == 404)
            #expect(try await events(harness, "department.deleted").count == 1)
        }
    }

    /// A department's or team's members as the API lists them, lowercased.
    func members(_ harness: TicketsHarness, _ admin: Actor, _ path: String) async throws -> Set<String> {
        Set((try await harness.send(admin, .GET, "/api/v1/\(path)").data["agent_ids"] as? [String] ?? []).map { $0.lowercased() })
    }

    /// Whether the members form offers `id` (checked or not).
    static func offers(_ html: String, _ id: String, checked: Bool) -> Bool {
        html.contains(#"name="member_\#(id)" value="on"\#(checked ? " checked" : "")>"#)
    }

    /// Departments' and teams' members are chosen by name from identity's staff directory (the
    /// real identity): active staff offered with their role, customers and deactivated people not
    /// (unless they are members now: then kept, marked); the form replaces the members through
    /// the API's body, audited; a refused form keeps what was ticked and changes nothing.
    @Test func departmentAndTeamMembersAreChosenByNameFromTheStaffDirectory() async throws {
        try await StaffDirectoryTests.withIdentity { identity, pki, database in
            let acme = try await StaffDirectoryTests.createTenant("acme", [
                ("Ada Admin", "admin"), ("Bob Builder", "agent"), ("Ann Archer", "agent"), ("Rita Reader", "read_only_agent"), ("Dora Departed", "agent"),
                ("Carl Customer", "customer"),
            ], identity: identity, pki: pki)
            let ids = acme.ids
            _ = try await database.with(database.superuserHere) { client in
                try await client.query("UPDATE identity.users SET status = 'deactivated' WHERE id = \(UUID(uuidString: ids["Dora Departed"]!)!)")
            }
            try await TicketsHarness.with(pki: pki, database: database, identityURL: identity.baseURL) { harness in
                let tenant = TicketsHarness.Tenant(id: try #require(TenantID(acme.tenant)), slug: "acme")
                let admin = Actor.admin(tenant, id: UUID(uuidString: ids["Ada Admin"]!)!).inBrowser()
                let created = try await post(harness, admin, "/admin/helpdesk/departments", [("name", "Billing")])
                let path = try #require(created.location?.split(separator: "?").first.map(String.init))
                let department = String(path.dropFirst("/admin/helpdesk/departments/".count))

                let opened = try await page(harness, admin, path)
                #expect(opened.status == 200)
                for name in ["Ada Admin", "Ann Archer", "Bob Builder", "Rita Reader"] {
                    #expect(Self.offers(opened.html, ids[name]!, checked: false), "\(name) offered")
                }
                #expect(opened.html.contains("<span>Rita Reader</span> <span class=\"muted\">Read-only agent</span>"))
                #expect(!opened.html.contains("Carl Customer") && !opened.html.contains("Dora Departed"), "customers and deactivated staff are not offered")
                let ann = try #require(opened.html.range(of: "<span>Ann Archer</span>")), bob = try #require(opened.html.range(of: "<span>Bob Builder</span>"))
                #expect(ann.lowerBound < bob.lowerBound, "by name")

                // Ticked Ann and Bob: the API's members, audited with the ids before and after.
                let saved = try await post(harness, admin, path + "/members", [("member_\(ids["Bob Builder"]!)", "on"), ("member_\(ids["Ann Archer"]!)", "on"),
                                                                             ("version", Self.versions(opened.html)[1])])
                #expect(saved.status == 303 && saved.location == path + "?done=members")
                #expect(try await members(harness, admin, "departments/\(department)") == [ids["Bob Builder"]!, ids["Ann Archer"]!])
                let audited = try await events(harness, "department.updated")
                #expect(audited.count == 1 && audited[0].lowercased().contains(ids["Bob Builder"]!))
                let after = try await page(harness, admin, path + "?done=members")
                #expect(after.html.contains("Members saved.") && Self.offers(after.html, ids["Bob Builder"]!, checked: true)
                        && Self.offers(after.html, ids["Rita Reader"]!, checked: false))

                // A deactivated member stays listed, ticked and marked, so saving keeps them.
                let dora = ids["Dora Departed"]!
                #expect(try await harness.send(admin, .PATCH, "/api/v1/departments/\(department)", json: #"{"agent_ids":["\#(dora)"]}"#).status == 200)
                let kept = try await page(harness, admin, path)
                #expect(Self.offers(kept.html, dora, checked: true) && kept.html.contains("<span>Dora Departed</span> <span class=\"muted\">Agent, deactivated</span>"))

                // Refused forms change nothing: a stale token keeps what was ticked; a made-up choice is a field error.
                let stale = try await post(harness, admin, path + "/members", [("member_\(ids["Rita Reader"]!)", "on")], token: .some("stale"))
                #expect(stale.status == 403 && Self.offers(stale.html, ids["Rita Reader"]!, checked: true) && Self.offers(stale.html, dora, checked: false))
                let madeUp = try await post(harness, admin, path + "/members", [("member_'; DROP TABLE teams; --", "on")])
                #expect(madeUp.status == 422 && madeUp.html.contains(#"id="members-error""#))
                #expect(try await members(harness, admin, "departments/\(department)") == [dora])
                // Not an admin, or another tenant's admin: nothing changes.
                #expect(try await post(harness, Actor.agent(tenant).inBrowser(), path + "/members", [("member_\(ids["Bob Builder"]!)", "on")]).status == 403)
                #expect(try await post(harness, Actor.admin(Self.other).inBrowser(), path + "/members", []).status == 404)
                #expect(try await members(harness, admin, "departments/\(department)") == [dora])

                // Teams: the same pages without SLA fields; removed without a target, their tickets keep no team.
                let teams = try await page(harness, admin, "/admin/helpdesk/teams")
                #expect(teams.status == 200 && teams.html.contains(#"<a href="/admin/helpdesk/teams" aria-current="page">Teams</a>"#)
                        && teams.html.contains("No teams yet.") && !teams.html.contains("first_response_minutes"))
                let team = try await post(harness, admin, "/admin/helpdesk/teams", [("name", "Night shift")])
                let teamPath = try #require(team.location?.split(separator: "?").first.map(String.init))
                #expect(teamPath.hasPrefix("/admin/helpdesk/teams/"))
                let teamID = String(teamPath.dropFirst("/admin/helpdesk/teams/".count))
                #expect(try await post(harness, admin, teamPath + "/members", [("member_\(ids["Ann Archer"]!)", "on"),
                                                                             try await version(harness, admin, teamPath, form: 1)]).status == 303)
                #expect(try await members(harness, admin, "teams/\(teamID)") == [ids["Ann Archer"]!])
                #expect(try await events(harness, "team.updated").count == 1)
                let ticket = try await harness.ticket(admin, extra: #","team_id":"\#(teamID)""#)
                let removed = try await post(harness, admin, teamPath + "/remove", [("move_to", "")])
                #expect(removed.status == 303 && removed.location == "/admin/helpdesk/teams?done=removed")
                #expect(try await harness.send(admin, .GET, "/api/v1/teams/\(teamID)").status == 404)
                let teamless = try await harness.send(admin, .GET, "/api/v1/tickets/\(ticket)")
                #expect(teamless.status == 200 && (teamless.data["team_id"] == nil || teamless.data["team_id"] is NSNull))
            }

            // No staff directory: the current members by short id, the form still saves them.
            try await TicketsHarness.with(pki: pki, database: database) { harness in
                let tenant = TicketsHarness.Tenant(id: try #require(TenantID(acme.tenant)), slug: "acme")
                let admin = Actor.admin(tenant).inBrowser()
                let department = try #require(try await harness.send(admin, .GET, "/api/v1/departments").list.first?["id"] as? String)
                let unnamed = try await page(harness, admin, "/admin/helpdesk/departments/\(department)")
                #expect(unnamed.status == 200 && unnamed.html.contains("Staff names are not available right now"))
                #expect(Self.offers(unnamed.html, ids["Dora Departed"]!, checked: true) && !Self.offers(unnamed.html, ids["Bob Builder"]!, checked: false))
            }
        }
    }

    @Test func customFieldsAreCreatedEditedAndRemoved() async throws {
        try await TicketsHarness.with { harness in
            let admin = Actor.admin(Self.tenant).inBrowser()
            let created = try await post(harness, admin, "/admin/helpdesk/custom-fields", [
                ("key", "plan"), ("label", "Plan"), ("type", "single_choice"), ("options", "Free\r\nPro\r\n\r\nEnterprise"), ("required", "false"),
            ])
            #expect(created.status == 303)
            let path = try #require(created.location?.split(separator: "?").first.map(String.init))
            let fields = try await harness.send(admin, .GET, "/api/v1/custom-fields")
            #expect(fields.list.first?["options"] as? [String] == ["Free", "Pro", "Enterprise"])
            #expect(try await events(harness, "custom_field.created").count == 1)

            // The API's rules speak through the form: choices only on choice fields, keys shaped.
            let badKey = try await post(harness, admin, "/admin/helpdesk/custom-fields", [("key", "Bad Key"), ("label", "Kept label"), ("type", "text")])
            #expect(badKey.status == 422 && badKey.html.contains(#"id="key-error""#) && badKey.html.contains(#"value="Kept label""#))
            let textWithChoices = try await post(harness, admin, "/admin/helpdesk/custom-fields", [("key", "note"), ("label", "Note"), ("type", "text"), ("options", "a")])
            #expect(textWithChoices.status == 422 && textWithChoices.html.contains(#"id="options-error""#))

            let saved = try await post(harness, admin, path, [("label", "Customer plan"), ("options", "Free\nPro"), ("required", "true"),
                                                              try await version(harness, admin, path)])
            #expect(saved.status == 303)
            let field = try #require(try await harness.send(admin, .GET, "/api/v1/custom-fields").list.first)
            #expect(field["label"] as? String == "Customer plan" && field["required"] as? Bool == true && field["options"] as? [String] == ["Free", "Pro"])
            #expect(try await events(harness, "custom_field.updated").count == 1)

            let removed = try await post(harness, admin, path + "/remove", [])
            #expect(removed.status == 303)
            #expect(try await harness.send(admin, .GET, "/api/v1/custom-fields").list.isEmpty)
            #expect(try await events(harness, "custom_field.deleted").count == 1)
        }
    }

    @Test func cardRedactionAndTicketSettingsAreSavedAndAudited() async throws {
        try await TicketsHarness.with { harness in
            let admin = Actor.admin(Self.tenant).inBrowser()
            let form = try await page(harness, admin, "/admin/helpdesk/redaction")
            #expect(form.status == 200 && form.html.contains(#"name="card_keep_first" value="6""#))
            let values = [("card_keep_first", "0"), ("card_keep_last", "4"), ("customers_see_organization", "true"), ("attachment_max_bytes", "2048"),
                          ("recycle_bin_days", "7"), ("closed_ticket_days", "0"), ("erasure_ticket_content", "delete")]
            let saved = try await post(harness, admin, "/admin/helpdesk/redaction", values + [try await version(harness, admin, "/admin/helpdesk/redaction")])
            #expect(saved.status == 303 && saved.location == "/admin/helpdesk/redaction?done=saved")
            let settings = try await harness.send(admin, .GET, "/api/v1/tickets/settings")
            #expect(settings.data["card_keep_first"] as? Int == 0 && settings.data["customers_see_organization"] as? Bool == true)
            #expect(settings.data["erasure_ticket_content"] as? String == "delete" && settings.data["attachment_max_bytes"] as? Int == 2048)
            let audited = try await events(harness, "ticket_settings.updated")
            #expect(audited.count == 1 && audited[0].contains("card_keep_first"))

            // A card number in a new ticket is masked by the new rule: none of the first six digits
            // stay visible (the default keeps them).
            let ticket = try await harness.ticket(admin, subject: "Card 4111 1111 1111 1111")
            let subject = try #require((try await harness.send(admin, .GET, "/api/v1/tickets/\(ticket)")).data["subject"] as? String)
            #expect(!subject.contains("4111 11") && subject.hasSuffix("1111"), "\(subject)")

            let bad = try await post(harness, admin, "/admin/helpdesk/redaction",
                                     values.map { $0.0 == "card_keep_first" ? ($0.0, "9") : $0 } + [try await version(harness, admin, "/admin/helpdesk/redaction")])
            #expect(bad.status == 422 && bad.html.contains(#"id="card_keep_first-error""#) && bad.html.contains(#"name="card_keep_first" value="9""#))
            #expect((try await harness.send(admin, .GET, "/api/v1/tickets/settings")).data["card_keep_first"] as? Int == 0)
        }
    }

    @Test func hostileNamesAreEscaped() async throws {
        try await TicketsHarness.with { harness in
            let admin = Actor.admin(Self.tenant).inBrowser()
            // Created through the API, as any admin or API key could.
            let name = String(Self.xss.prefix(100))
            #expect(try await harness.send(admin, .POST, "/api/v1/departments", json: #"{"name":\#(TicketsHarness.quoted(name))}"#).status == 201)
            #expect(try await harness.send(admin, .POST, "/api/v1/custom-fields",
                                           json: #"{"key":"x","label":\#(TicketsHarness.quoted(name)),"type":"single_choice","options":[\#(TicketsHarness.quoted(Self.xss))]}"#).status == 201)
            #expect(try await harness.send(admin, .POST, "/api/v1/teams", json: #"{"name":\#(TicketsHarness.quoted(name))}"#).status == 201)
            for path in ["/admin/helpdesk/departments", "/admin/helpdesk/teams", "/admin/helpdesk/custom-fields"] {
                let html = try await page(harness, admin, path).html
                #expect(!html.contains("<script>window.pwned") && !html.contains("<img src=x"), "\(path)")
                #expect(html.contains("&lt;script&gt;window.pwned=1&lt;/script&gt;"), "\(path)")
            }
        }
    }

    /// Two admins with the same page open: a form shown before the other's save of the same
    /// thing saves nothing and shows the current values (409); a form of another part of the
    /// page still saves; a refused form keeps the version it was shown with; a form without a
    /// version saves nothing.
    @Test func aFormShownBeforeAnotherAdminSavedTheSameThingSavesNothing() async throws {
        try await TicketsHarness.with { harness in
            let admin = Actor.admin(Self.tenant).inBrowser()
            let conflict = "after this page was opened, so nothing was saved. The current values are shown: make your change again."

            // Ticket settings.
            let settingsPath = "/admin/helpdesk/redaction"
            let shown = try await version(harness, admin, settingsPath)
            #expect(try await harness.send(admin, .PATCH, "/api/v1/tickets/settings", json: #"{"recycle_bin_days":7}"#).status == 200)
            let values = [("card_keep_first", "0"), ("card_keep_last", "4"), ("customers_see_organization", "false"), ("attachment_max_bytes", "10485760"),
                          ("recycle_bin_days", "30"), ("closed_ticket_days", "0"), ("erasure_ticket_content", "keep")]
            for stale in [values + [shown], values] {
                let refused = try await post(harness, admin, settingsPath, stale)
                #expect(refused.status == 409 && refused.html.contains("Someone else changed the ticket settings " + conflict))
                #expect(refused.html.contains(#"name="recycle_bin_days" value="7""#) && refused.html.contains(#"name="card_keep_first" value="6""#))
            }
            let settings = try await harness.send(admin, .GET, "/api/v1/tickets/settings").data
            #expect(settings["recycle_bin_days"] as? Int == 7 && settings["card_keep_first"] as? Int == 6, "the other admin's change stays")
            // A refused form keeps the version it was shown with: correcting it is still stale.
            let typo = try await post(harness, admin, settingsPath, values.map { $0.0 == "card_keep_last" ? ($0.0, "x") : $0 } + [shown])
            #expect(typo.status == 422 && Self.versions(typo.html) == [shown.1])
            let fresh = try await version(harness, admin, settingsPath)
            #expect(fresh.1 != shown.1)
            #expect(try await post(harness, admin, settingsPath, values.map { $0.0 == "recycle_bin_days" ? ($0.0, "7") : $0 } + [fresh]).status == 303)
            #expect(try await harness.send(admin, .GET, "/api/v1/tickets/settings").data["card_keep_first"] as? Int == 0)

            // A department: its details and its members are two parts with a version each.
            let created = try await post(harness, admin, "/admin/helpdesk/departments", [("name", "Billing")])
            let path = try #require(created.location?.split(separator: "?").first.map(String.init))
            let department = String(path.dropFirst("/admin/helpdesk/departments/".count))
            let opened = Self.versions(try await page(harness, admin, path).html)
            try #require(opened.count == 2)
            #expect(try await harness.send(admin, .PATCH, "/api/v1/departments/\(department)", json: #"{"name":"Billing 2"}"#).status == 200)
            let details = [("name", "Billing & Refunds"), ("first_response_minutes", "30"), ("resolution_minutes", "")]
            let staleDetails = try await post(harness, admin, path, details + [("version", opened[0])])
            #expect(staleDetails.status == 409 && staleDetails.html.contains("Someone else changed this department&#39;s name or SLA targets " + conflict))
            #expect(staleDetails.html.contains(#"value="Billing 2""#))
            #expect(try await post(harness, admin, path, details).status == 409, "no version")
            let refusedName = try await post(harness, admin, path, [("name", ""), ("version", opened[0])])
            #expect(refusedName.status == 422 && Self.versions(refusedName.html).first == opened[0])
            let unchanged = try await harness.send(admin, .GET, "/api/v1/departments/\(department)").data
            #expect(unchanged["name"] as? String == "Billing 2" && (unchanged["first_response_minutes"] == nil || unchanged["first_response_minutes"] is NSNull))
            // The members' form of the page opened before the rename still saves: its part did not change.
            let member = UUID().uuidString.lowercased()
            #expect(try await post(harness, admin, path + "/members", [("member_\(member)", "on"), ("version", opened[1])]).status == 303)
            let stored = try await harness.send(admin, .GET, "/api/v1/departments/\(department)").data
            #expect(stored["name"] as? String == "Billing 2" && (stored["agent_ids"] as? [String])?.map { $0.lowercased() } == [member])
            // Now that form is stale: emptying the members with it saves nothing.
            let staleMembers = try await post(harness, admin, path + "/members", [("version", opened[1])])
            #expect(staleMembers.status == 409 && staleMembers.html.contains("Someone else changed this department&#39;s members " + conflict))
            #expect((try await harness.send(admin, .GET, "/api/v1/departments/\(department)").data["agent_ids"] as? [String])?.count == 1)

            // A custom field.
            let field = try await harness.send(admin, .POST, "/api/v1/custom-fields", json: #"{"key":"plan","label":"Plan","type":"text"}"#)
            let fieldPath = "/admin/helpdesk/custom-fields/\(field.id)"
            let fieldVersion = try await version(harness, admin, fieldPath)
            #expect(try await harness.send(admin, .PATCH, "/api/v1/custom-fields/\(field.id)", json: #"{"required":true}"#).status == 200)
            let staleField = try await post(harness, admin, fieldPath, [("label", "Customer plan"), ("required", "false"), fieldVersion])
            #expect(staleField.status == 409 && staleField.html.contains("Someone else changed this field " + conflict))
            let kept = try await harness.send(admin, .GET, "/api/v1/custom-fields/\(field.id)").data
            #expect(kept["label"] as? String == "Plan" && kept["required"] as? Bool == true)
            #expect(try await events(harness, "custom_field.updated").count == 1, "only the other admin's change")
        }
    }

    @Test func formsWithoutTheSessionsTokenChangeNothingAndKeepWhatWasTyped() async throws {
        try await TicketsHarness.with { harness in
            let admin = Actor.admin(Self.tenant).inBrowser()
            let other = admin.inBrowser()
            for token in [String?.none, "", other.csrfToken] {
                let department = try await post(harness, admin, "/admin/helpdesk/departments", [("name", "Typed department")], token: .some(token))
                #expect(department.status == 403 && department.html.contains("security token") && department.html.contains(#"value="Typed department""#))
                let field = try await post(harness, admin, "/admin/helpdesk/custom-fields", [("key", "typed_key"), ("label", "Typed label"), ("type", "text")],
                                           token: .some(token))
                #expect(field.status == 403 && field.html.contains(#"value="typed_key""#))
                let settings = try await post(harness, admin, "/admin/helpdesk/redaction", [("card_keep_first", "3")], token: .some(token))
                #expect(settings.status == 403 && settings.html.contains(#"name="card_keep_first" value="3""#))
            }
            #expect(try await harness.send(admin, .GET, "/api/v1/departments").list.isEmpty)
            #expect(try await harness.send(admin, .GET, "/api/v1/custom-fields").list.isEmpty)
            #expect((try await harness.send(admin, .GET, "/api/v1/tickets/settings")).data["card_keep_first"] as? Int == 6)
        }
    }

    @Test func onlyTheTenantsAdminsReachTheConsole() async throws {
        try await TicketsHarness.with { harness in
            let admin = Actor.admin(Self.tenant).inBrowser()
            let department = try await harness.send(admin, .POST, "/api/v1/departments", json: #"{"name":"Billing"}"#).id
            let field = try await harness.send(admin, .POST, "/api/v1/custom-fields", json: #"{"key":"plan","label":"Plan","type":"text"}"#).id
            let team = try await harness.send(admin, .POST, "/api/v1/teams", json: #"{"name":"Night shift"}"#).id
            let paths = ["/admin/helpdesk", "/admin/helpdesk/departments", "/admin/helpdesk/departments/\(department)", "/admin/helpdesk/teams",
                         "/admin/helpdesk/teams/\(team)", "/admin/helpdesk/custom-fields",
                         "/admin/helpdesk/custom-fields/\(field)", "/admin/helpdesk/redaction"]
            for actor in [Actor.agent(Self.tenant).inBrowser(), Actor.readOnly(Self.tenant).inBrowser(), Actor.customer(Self.tenant).inBrowser()] {
                for path in paths {
                    let refused = try await page(harness, actor, path)
                    #expect(refused.status == 403 && refused.html.contains("Not allowed"), "\(actor.roles) \(path)")
                }
                #expect(try await post(harness, actor, "/admin/helpdesk/departments/\(department)/remove", []).status == 403)
                #expect(try await post(harness, actor, "/admin/helpdesk/redaction", [("card_keep_first", "0")]).status == 403)
            }
            #expect(try await harness.send(admin, .GET, "/api/v1/departments/\(department)").status == 200)

            // Another tenant's admin: the same ids are not found, and nothing of them changes.
            let foreign = Actor.admin(Self.other).inBrowser()
            for path in ["/admin/helpdesk/departments/\(department)", "/admin/helpdesk/custom-fields/\(field)", "/admin/helpdesk/departments/not-an-id"] {
                #expect(try await page(harness, foreign, path).status == 404, "\(path)")
            }
            #expect(try await post(harness, foreign, "/admin/helpdesk/departments/\(department)", [("name", "Hijacked")]).status == 404)
            #expect(try await post(harness, foreign, "/admin/helpdesk/departments/\(department)/remove", []).status == 404)
            #expect(try await post(harness, foreign, "/admin/helpdesk/teams/\(team)", [("name", "Hijacked")]).status == 404)
            #expect(try await post(harness, foreign, "/admin/helpdesk/teams/\(team)/members", []).status == 404)
            #expect(try await post(harness, foreign, "/admin/helpdesk/teams/\(team)/remove", []).status == 404)
            #expect(try await harness.send(admin, .GET, "/api/v1/teams/\(team)").data["name"] as? String == "Night shift")
            #expect(try await post(harness, foreign, "/admin/helpdesk/custom-fields/\(field)", [("label", "Hijacked")]).status == 404)
            #expect(try await post(harness, foreign, "/admin/helpdesk/custom-fields/\(field)/remove", []).status == 404)
            #expect(try await harness.send(admin, .GET, "/api/v1/departments/\(department)").data["name"] as? String == "Billing")
            #expect(try await harness.send(admin, .GET, "/api/v1/custom-fields").list.first?["label"] as? String == "Plan")
        }
    }
}
