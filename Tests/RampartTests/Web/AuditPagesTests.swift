import Foundation
import NIOHTTP1
@testable import Audit
import RampartCore
import RampartSecurity
import Testing

/// Audit's admin pages (`/admin/audit`: the log viewer and alerts) against the real service and
/// database, called as the gateway with browser-session principals.
@Suite("Web: admin console, audit log and alerts")
struct AuditPagesTests {
    static let csrf = "csrf-token-of-this-session-0123456789abcdef"

    func page(_ fixture: AuditFixture, _ principal: String, _ path: String) async throws -> (status: Int, html: String, headers: [String: String]) {
        let reply = try await fixture.raw(.GET, path, principal: principal)
        var headers: [String: String] = [:]
        for (name, value) in reply.headers { headers[name.lowercased()] = value }
        return (reply.status, String(decoding: reply.body, as: UTF8.self), headers)
    }

    func post(_ fixture: AuditFixture, _ principal: String, _ path: String, token: String?) async throws -> (status: Int, html: String, location: String?) {
        let body = token.map { "csrf_token=\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" } ?? ""
        let reply = try await fixture.raw(.POST, path, principal: principal, body: Data(body.utf8), contentType: "application/x-www-form-urlencoded")
        return (reply.status, String(decoding: reply.body, as: UTF8.self), reply.headers.first(name: "location"))
    }

    @Test func theLogShowsEscapedEventsWithFiltersPagingAndExportLinks() async throws {
        try await AuditFixture.with { fixture in
            let acme = try await fixture.tenant()
            var hostile = AuditFixture.event(acme, action: "auth.signed_in", actorID: "mallory")
            hostile.actor.displayName = TicketsPagesTests.xss
            hostile.actor.userAgent = #"Mozilla"><script>window.pwned=3</script>"#
            hostile.resource.label = "<b onmouseover=alert(1)>label</b>"
            hostile.changes = ["name": ["<i>old</i>", "<svg onload=alert(4)>"]]
            let filler = (0..<55).map { AuditFixture.event(acme, action: "user.updated", actorID: "ada", resourceID: "u-\($0)") }
            try await AuditQueryTests.ingest(fixture, [hostile] + filler + [AuditFixture.event(try await fixture.tenant(), action: "auth.signed_in", actorID: "globex-user")])
            let admin = try fixture.principal(acme, csrfToken: Self.csrf)

            let log = try await page(fixture, admin, "/admin/audit/log")
            #expect(log.status == 200)
            #expect(log.headers["content-security-policy"]?.contains("default-src 'none'") == true && log.headers["cache-control"] == "no-store")
            #expect(log.html.contains(#"<a href="/admin/audit/log" aria-current="page">Audit log</a>"#))
            #expect(log.html.contains(#"rel="next""#), "56 events make two pages")
            #expect(log.html.contains(#"href="/api/v1/audit/events/export?format=csv""#))

            // A filter, with the empty fields a form sends; its own export links.
            let filtered = try await page(fixture, admin, "/admin/audit/log?actor=mallory&actor_type=&action=auth.*&outcome=&ip=")
            #expect(filtered.status == 200)
            for hostileText in ["<script>window.pwned", "<img src=x", "<b onmouseover", "<svg onload", #""><script>"#] {
                #expect(!filtered.html.contains(hostileText), "\(hostileText)")
            }
            #expect(filtered.html.contains("&lt;script&gt;window.pwned=1&lt;/script&gt;") && filtered.html.contains("&lt;svg onload=alert(4)&gt;"))
            #expect(filtered.html.contains("IP 192.0.2.10"), "personal data opened with the tenant key, as the API shows it")
            #expect(!filtered.html.contains("u-3") && !filtered.html.contains("globex-user"))
            #expect(filtered.html.contains(#"href="/api/v1/audit/events/export?format=jsonl&amp;actor=mallory&amp;action=auth%2E%2A""#))
            #expect(filtered.html.contains(#"name="actor" value="mallory""#))

            // Cursor paging: the second page holds the rest, and links back to the first.
            let beforeNext = try #require(log.html.components(separatedBy: #"" rel="next""#).first)
            let next = try #require(beforeNext.range(of: #"href=""#, options: .backwards).map { String(beforeNext[$0.upperBound...]) })
            #expect(next.hasPrefix("/admin/audit/log?cursor="))
            let second = try await page(fixture, admin, next.replacingOccurrences(of: "&amp;", with: "&"))
            #expect(second.status == 200 && second.html.contains("mallory") && second.html.contains("First page") && !second.html.contains(#"rel="next""#))

            let bad = try await page(fixture, admin, "/admin/audit/log?action=DROP%20TABLE&actor=kept-actor")
            #expect(bad.status == 422 && bad.html.contains(#"id="action-error""#) && bad.html.contains(#"value="DROP TABLE""#) && bad.html.contains(#"value="kept-actor""#))
        }
    }

    @Test func alertsAreListedAndAcknowledgedWithTheSessionsToken() async throws {
        try await AuditFixture.with { fixture in
            let acme = try await fixture.tenant()
            let failures = (0..<10).map { _ in
                AuditFixture.event(acme, action: "auth.sign_in_failed", actorType: "anonymous", actorID: "unknown", ip: "203.0.113.7", resourceID: "victim", outcome: "failure")
            }
            try await AuditQueryTests.ingest(fixture, failures)
            #expect(try await fixture.withParts { try await $0.scanner.run(tenant: acme) } == 1)
            let admin = try fixture.principal(acme, csrfToken: Self.csrf)
            let open = try await page(fixture, admin, "/admin/audit/alerts")
            #expect(open.status == 200 && open.html.contains("brute_force") && open.html.contains(">Acknowledge</button>"))
            let action = try #require(open.html.range(of: #"action="/admin/audit/alerts/"#).map { "/admin/audit/alerts/" + open.html[$0.upperBound...].prefix { $0 != "\"" } })
            #expect(action.hasSuffix("/acknowledge"))

            // Without the session's token, or with another tenant's admin: nothing changes.
            for token in [nil, "", "forged-token"] {
                let refused = try await post(fixture, admin, action, token: token)
                #expect(refused.status == 403 && refused.html.contains("security token"), "\(String(describing: token))")
            }
            let foreign = try fixture.principal(try await fixture.tenant(), csrfToken: Self.csrf)
            #expect(try await post(fixture, foreign, action, token: Self.csrf).status == 404)
            #expect(try await post(fixture, admin, "/admin/audit/alerts/\(UUID())/acknowledge", token: Self.csrf).status == 404)
            #expect(try await page(fixture, admin, "/admin/audit/alerts?status=open").html.contains(">Acknowledge</button>"))

            let done = try await post(fixture, admin, action, token: Self.csrf)
            #expect(done.status == 303 && done.location == "/admin/audit/alerts?done=acknowledged")
            let after = try await page(fixture, admin, "/admin/audit/alerts?done=acknowledged")
            #expect(after.html.contains("Alert acknowledged.") && after.html.contains("No alerts here."))
            let acknowledged = try await page(fixture, admin, "/admin/audit/alerts?status=acknowledged")
            #expect(acknowledged.html.contains("brute_force") && acknowledged.html.contains("by admin-1"))
            let actions: [String] = try await fixture.superuserValues("SELECT action FROM audit.events WHERE tenant_id = '\(acme)' AND action = 'alert.acknowledged'")
            #expect(actions.count == 1, "acknowledged once, in the tenant's chain")
            #expect(try await page(fixture, admin, "/admin/audit/alerts?status=bogus").status == 422)
        }
    }

    /// Staff actors the events name by id only are shown by the name identity's staff directory
    /// gives them now (as `user:{id}` or a bare id), as are the admin signed in and who
    /// acknowledged an alert; an event's own sealed name comes first; customers and unknown ids
    /// stay ids; a name is escaped like every value. Identity down: ids, and the page still 200.
    @Test func staffActorsTheSignedInAdminAndAcknowledgersShowByName() async throws {
        let hostile = "Zed <script>window.pwned=5</script>"
        try await StaffDirectoryTests.withIdentity { identity, pki, database in
            let acme = try await StaffDirectoryTests.createTenant("acme", [("Ada Admin", "admin"), ("Bob Builder", "agent"), (hostile, "agent"),
                                                                           ("Carl Customer", "customer")], identity: identity, pki: pki)
            let tenant = try #require(TenantID(acme.tenant))
            let (ada, bob, zed, carl) = (acme.ids["Ada Admin"]!, acme.ids["Bob Builder"]!, acme.ids[hostile]!, acme.ids["Carl Customer"]!)
            @Sendable func event(_ action: String, _ type: String, _ id: String, named: String? = nil, outcome: String = "success",
                                 at occurredAt: Date = .now) -> AuditEvent {
                var event = AuditFixture.event(tenant, action: action, actorType: type, actorID: id, ip: "203.0.113.7", outcome: outcome,
                                               occurredAt: occurredAt)
                event.actor.displayName = named
                return event
            }
            try await AuditFixture.with(database: database, pki: pki, identityURL: identity.baseURL) { fixture in
                try await AuditQueryTests.ingest(fixture, [
                    event("ticket.updated", "agent", "user:\(bob)"),
                    // Within business hours (a Tuesday, 10:00 UTC): an admin's action at night or on a
                    // weekend raises an alert of its own, and the one alert below is the sign-in failures'.
                    event("user.updated", "admin", ada, at: try Date("2026-11-03T10:00:00Z", strategy: .iso8601)),
                    event("ticket.replied", "agent", "user:\(zed)"),
                    event("ticket.created", "customer", "user:\(carl)"),
                    event("ticket.assigned", "agent", "user:\(bob)", named: "Robert at the time"),
                ] + (0..<10).map { _ in event("auth.sign_in_failed", "anonymous", "unknown", outcome: "failure") })
                let admin = try fixture.principal(tenant, subject: "user:\(ada)", csrfToken: Self.csrf)

                let log = try await page(fixture, admin, "/admin/audit/log?actor_type=agent")
                #expect(log.status == 200)
                #expect(log.html.contains("<td>Bob Builder<br><span class=\"muted\">agent · user:\(bob)</span>"), "an agent known by id, named")
                #expect(log.html.contains("<td>Robert at the time<br>"), "the event's own name comes first")
                #expect(log.html.contains("<td>Zed &lt;script&gt;window.pwned=5&lt;/script&gt;<br>") && !log.html.contains("<script>window.pwned"))
                #expect(log.html.contains("Signed in as Ada Admin"))
                let admins = try await page(fixture, admin, "/admin/audit/log?actor_type=admin")
                #expect(admins.html.contains("<td>Ada Admin<br><span class=\"muted\">admin · \(ada)</span>"), "a bare user id, named")
                let customers = try await page(fixture, admin, "/admin/audit/log?actor_type=customer")
                #expect(customers.html.contains("<td>user:\(carl)<br>") && !customers.html.contains("Carl Customer"), "the directory never names a customer")

                // Who acknowledged an alert, by name.
                #expect(try await fixture.withParts { try await $0.scanner.run(tenant: tenant) } == 1)
                let open = try await page(fixture, admin, "/admin/audit/alerts")
                let action = try #require(open.html.range(of: #"action="/admin/audit/alerts/"#).map { "/admin/audit/alerts/" + open.html[$0.upperBound...].prefix { $0 != "\"" } })
                #expect(try await post(fixture, admin, action, token: Self.csrf).status == 303)
                #expect(try await page(fixture, admin, "/admin/audit/alerts?status=acknowledged").html.contains("by Ada Admin"))
            }

            // Identity not answering: the same log, actors by id.
            let closed = try RunningService.freePort()
            try await AuditFixture.with(database: database, pki: pki, identityURL: "https://127.0.0.1:\(closed)") { fixture in
                try await AuditQueryTests.ingest(fixture, [event("ticket.updated", "agent", "user:\(bob)")])
                let log = try await page(fixture, try fixture.principal(tenant, subject: "user:\(ada)", csrfToken: Self.csrf), "/admin/audit/log")
                #expect(log.status == 200 && log.html.contains("<td>user:\(bob)<br>") && !log.html.contains("Bob Builder"))
                #expect(log.html.contains("Signed in as admin"))
            }
        }
    }

    /// Audit settings from the console: the stored values, a change saved through the API's
    /// repository and recorded in the tenant's chain, every bad field explained at once with what
    /// was typed kept, and refusals (token, permission, role) that change nothing.
    @Test func auditSettingsAreChangedWithTheAPIsRulesAndRecorded() async throws {
        try await AuditFixture.with { fixture in
            let acme = try await fixture.tenant()
            let admin = try fixture.principal(acme, csrfToken: Self.csrf)
            let shown = try await page(fixture, admin, "/admin/audit/settings")
            #expect(shown.status == 200 && shown.headers["content-security-policy"]?.contains("default-src 'none'") == true)
            #expect(shown.html.contains(#"<a href="/admin/audit/settings" aria-current="page">Audit settings</a>"#))
            #expect(shown.html.contains(#"name="retention_days" value="365""#) && shown.html.contains(#"name="time_zone" value="UTC""#))

            var values = ["retention_days": "90", "brute_force_threshold": "10", "spraying_threshold": "10", "export_threshold": "5",
                          "business_hours_start": "8", "business_hours_end": "18", "time_zone": "Europe/Berlin",
                          "travel_speed_kmh": "1000", "travel_min_distance_km": "500"]
            func send(_ values: [String: String], token: String?, as principal: String) async throws -> (status: Int, html: String, location: String?) {
                let fields = values.merging(token.map { ["csrf_token": $0] } ?? [:]) { $1 }
                let body = fields.map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(separator: "&")
                let reply = try await fixture.raw(.POST, "/admin/audit/settings", principal: principal, body: Data(body.utf8), contentType: "application/x-www-form-urlencoded")
                return (reply.status, String(decoding: reply.body, as: UTF8.self), reply.headers.first(name: "location"))
            }
            let opened = try #require(shown.html.firstMatch(of: /name="version" value="([0-9a-f]{32})"/)?.output.1).description
            // Without the version the page was shown with, nothing is saved (below: a stale one).
            #expect(try await send(values, token: Self.csrf, as: admin).status == 409)
            let saved = try await send(values.merging(["version": opened]) { $1 }, token: Self.csrf, as: admin)
            #expect(saved.status == 303 && saved.location == "/admin/audit/settings?done=saved")
            let api = try await fixture.get("/api/v1/audit/settings", principal: admin)
            #expect(api.1["retention_days"] as? Int == 90 && api.1["time_zone"] as? String == "Europe/Berlin" && api.1["business_hours_end"] as? Int == 18)
            let recorded: [String] = try await fixture.superuserValues(
                "SELECT action FROM audit.events WHERE tenant_id = '\(acme)' AND action = 'audit_settings.updated'")
            #expect(recorded.count == 1)
            #expect(try await page(fixture, admin, "/admin/audit/settings?done=saved").html.contains("Audit settings saved."))

            // A form opened before that save (another admin's) would undo it: 409, the current values shown, nothing stored.
            let stale = try await send(values.merging(["version": opened, "retention_days": "400"]) { $1 }, token: Self.csrf, as: admin)
            #expect(stale.status == 409 && stale.html.contains("Someone else changed the audit settings after this page was opened, so nothing was saved."))
            #expect(stale.html.contains(#"name="retention_days" value="90""#) && !stale.html.contains(#"value="\#(opened)""#))
            #expect(try await fixture.get("/api/v1/audit/settings", principal: admin).1["retention_days"] as? Int == 90)

            // Three bad fields at once: each explained, what was typed kept, nothing stored.
            values["retention_days"] = "soon"
            values["business_hours_end"] = "5"
            values["time_zone"] = "Mars/Olympus"
            let bad = try await send(values, token: Self.csrf, as: admin)
            #expect(bad.status == 422)
            for field in ["retention_days", "business_hours_end", "time_zone"] {
                #expect(bad.html.contains(#"id="\#(field)-error""#), "\(field)")
            }
            #expect(bad.html.contains(#"value="soon""#) && bad.html.contains(#"value="Mars/Olympus""#) && !bad.html.contains(#"id="spraying_threshold-error""#))
            // Without the session's token: 403, the values kept, nothing stored.
            for token in [nil, "forged"] {
                let refused = try await send(values, token: token, as: admin)
                #expect(refused.status == 403 && refused.html.contains("security token") && refused.html.contains(#"value="Mars/Olympus""#))
            }
            // An admin without the security permission reads them but cannot change them; agents get nothing.
            let reader = try fixture.principal(acme, subject: "admin-2", scopes: ["audit:read"], csrfToken: Self.csrf)
            let readOnly = try await page(fixture, reader, "/admin/audit/settings")
            #expect(readOnly.status == 200 && readOnly.html.contains("needs the security permission") && !readOnly.html.contains("Save settings"))
            values["retention_days"] = "30"
            values["business_hours_end"] = "18"
            values["time_zone"] = "UTC"
            #expect(try await send(values, token: Self.csrf, as: reader).status == 403)
            let agent = try fixture.principal(acme, kind: .agent, subject: "agent-1", scopes: ["tickets:read"], csrfToken: Self.csrf)
            #expect(try await page(fixture, agent, "/admin/audit/settings").status == 403)
            #expect(try await send(values, token: Self.csrf, as: agent).status == 403)
            #expect(try await fixture.get("/api/v1/audit/settings", principal: admin).1["retention_days"] as? Int == 90)
            // Another tenant's settings are its own.
            let globex = try fixture.principal(try await fixture.tenant(), csrfToken: Self.csrf)
            #expect(try await page(fixture, globex, "/admin/audit/settings").html.contains(#"name="retention_days" value="365""#))
        }
    }

    /// `/account/activity`: a staff user's own events (under either form of their id), never
    /// anyone else's, without `audit:read`; customers and API keys refused; no session → sign in.
    @Test func staffReadTheirOwnActivityAndNothingElse() async throws {
        try await AuditFixture.with { fixture in
            let acme = try await fixture.tenant()
            let me = UUID().uuidString.lowercased(), colleague = UUID().uuidString.lowercased()
            @Sendable func event(_ action: String, _ actor: String, resource: String) -> AuditEvent {
                var event = AuditFixture.event(acme, action: action, actorType: "agent", actorID: actor, resourceID: resource)
                event.resource.label = resource
                return event
            }
            try await AuditQueryTests.ingest(fixture, [
                event("ticket.replied", "user:\(me)", resource: "my-reply"), event("user.password_changed", me, resource: "my-password"),
                event("ticket.deleted", "user:\(colleague)", resource: "their-delete"),
            ])
            var elsewhere = AuditFixture.event(try await fixture.tenant(), action: "ticket.replied", actorType: "agent", actorID: "user:\(me)", resourceID: "other-tenant")
            elsewhere.resource.label = "other-tenant"
            try await AuditQueryTests.ingest(fixture, [elsewhere])
            let agent = try fixture.principal(acme, kind: .agent, subject: "user:\(me)", scopes: ["tickets:read", "tickets:write"], csrfToken: Self.csrf)
            let mine = try await page(fixture, agent, "/account/activity")
            #expect(mine.status == 200 && mine.headers["content-security-policy"]?.contains("default-src 'none'") == true)
            #expect(mine.html.contains("my-reply") && mine.html.contains("my-password") && mine.html.contains("ticket.replied"))
            #expect(!mine.html.contains("their-delete") && !mine.html.contains("other-tenant"))
            #expect(mine.html.contains(#"<a href="/agent/me" aria-current="page">Me</a>"#))
            // An OAuth app acting for me (my subject, my kind, no session) reads nothing of my trail.
            for refused in [try fixture.principal(acme, kind: .customer, subject: "user:\(UUID())", scopes: [], csrfToken: Self.csrf),
                            try fixture.principal(acme, kind: .apiClient, subject: "api_key:abc", scopes: ["audit:read"]),
                            try fixture.principal(acme, kind: .agent, subject: "user:\(me)", scopes: ["tickets:read"],
                                                  authenticationMethod: .oauth, sessionID: nil),
                            try fixture.principal(acme, kind: .agent, subject: "user:\(me)", scopes: ["tickets:read"], authenticationMethod: .apiKey)] {
                #expect(try await page(fixture, refused, "/account/activity").status == 403)
            }
            let anonymous = try await fixture.raw(.GET, "/account/activity?cursor=9")
            #expect(anonymous.status == 303 && anonymous.headers.first(name: "location") == "/login?return_to=%2Faccount%2Factivity%3Fcursor%3D9")
        }
    }

    @Test func onlyTheTenantsAdminsReadTheLog() async throws {
        try await AuditFixture.with { fixture in
            let acme = try await fixture.tenant()
            let agent = try fixture.principal(acme, kind: .agent, subject: "agent-1", scopes: ["tickets:read", "tickets:write"], csrfToken: Self.csrf)
            let customer = try fixture.principal(acme, kind: .customer, subject: "customer-1", scopes: [], csrfToken: Self.csrf)
            // An admin's key that cannot read the log is refused too.
            let narrowAdmin = try fixture.principal(acme, scopes: ["users:write"], csrfToken: Self.csrf)
            // The scope alone is not enough: the pages are the admin role's (an agent's token that
            // somehow carried audit:read still gets no console).
            let agentWithScope = try fixture.principal(acme, kind: .agent, subject: "agent-2", scopes: ["audit:read"], csrfToken: Self.csrf)
            for principal in [agent, customer, narrowAdmin, agentWithScope] {
                for path in ["/admin/audit", "/admin/audit/log", "/admin/audit/alerts"] {
                    let refused = try await page(fixture, principal, path)
                    #expect(refused.status == 403 && refused.html.contains("Not allowed"), "\(path)")
                }
                #expect(try await post(fixture, principal, "/admin/audit/alerts/\(UUID())/acknowledge", token: Self.csrf).status == 403)
            }
            let admin = try fixture.principal(acme, csrfToken: Self.csrf)
            let root = try await fixture.raw(.GET, "/admin/audit", principal: admin)
            #expect(root.status == 303 && root.headers.first(name: "location") == "/admin/audit/log")
        }
    }
}
