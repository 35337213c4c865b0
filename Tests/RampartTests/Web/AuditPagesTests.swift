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
