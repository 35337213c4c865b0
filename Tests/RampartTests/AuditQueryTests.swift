import Foundation
import PostgresNIO
@testable import Audit
@testable import Control
import RampartCore
import RampartSecurity
import RampartTransport
import Testing

@Suite("Audit: query API, exports, activity, alerts, settings")
struct AuditQueryTests {
    /// Stores `events` through the ingestion route as identity.
    static func ingest(_ fixture: AuditFixture, _ events: [AuditEvent]) async throws {
        let (status, _) = try await fixture.send(body: try AuditFixture.batch(events))
        #expect(status == 200)
    }

    @Test func adminsReadOnlyTheirTenantsEventsWithFiltersAndCursors() async throws {
        try await AuditFixture.with { fixture in
            let acme = try await fixture.tenant()
            let globex = try await fixture.tenant()
            try await Self.ingest(fixture, [
                AuditFixture.event(acme, action: "auth.signed_in", actorID: "ada"),
                AuditFixture.event(acme, action: "user.created", actorID: "ada"),
                AuditFixture.event(acme, action: "auth.sign_in_failed", actorType: "anonymous", actorID: "unknown", ip: "203.0.113.7", outcome: "failure"),
                AuditFixture.event(acme, action: "user.deactivated", actorID: "bob", resourceID: "u-9"),
                AuditFixture.event(acme, action: "api_key.created", actorID: "bob"),
                AuditFixture.event(globex, action: "user.created"),
            ])
            let admin = try fixture.principal(acme)
            let (status, page) = try await fixture.get("/api/v1/audit/events", principal: admin)
            #expect(status == 200)
            let data = try #require(page["data"] as? [[String: Any]])
            #expect(data.map { $0["seq"] as? Int } == [5, 4, 3, 2, 1])
            let first = try #require(data.last)
            #expect((first["actor"] as? [String: Any])?["display_name"] as? String == "Ada Admin")
            #expect((first["actor"] as? [String: Any])?["ip"] as? String == "192.0.2.10")
            #expect((first["resource"] as? [String: Any])?["label"] as? String == "grace@acme.test")
            #expect(first["personal_data"] as? String == "available")

            // Cursor pagination: two, two, one, then no next link.
            var path: String? = "/api/v1/audit/events?limit=2"
            var seen: [Int] = []
            while let next = path {
                let (_, page) = try await fixture.get(next, principal: admin)
                seen += (page["data"] as? [[String: Any]] ?? []).compactMap { $0["seq"] as? Int }
                path = (page["links"] as? [String: Any])?["next"] as? String
            }
            #expect(seen == [5, 4, 3, 2, 1])

            for (query, expected) in [
                ("action=auth.*", [3, 1]), ("action=user.created", [2]), ("actor=bob", [5, 4]), ("resource_id=u-9", [4]),
                ("ip=203.0.113.7", [3]), ("outcome=failure", [3]), ("actor_type=anonymous", [3]),
                ("from=2000-01-01T00:00:00Z&to=2001-01-01T00:00:00Z", []),
            ] {
                let (_, filtered) = try await fixture.get("/api/v1/audit/events?\(query)", principal: admin)
                #expect((filtered["data"] as? [[String: Any]])?.compactMap { $0["seq"] as? Int } == expected, "\(query)")
            }
            let (_, other) = try await fixture.get("/api/v1/audit/events", principal: try fixture.principal(globex))
            #expect((other["data"] as? [[String: Any]])?.count == 1)
        }
    }

    @Test func theLogIsRefusedWithoutAuditReadAndBadQueriesGetProblems() async throws {
        try await AuditFixture.with { fixture in
            let acme = try await fixture.tenant()
            let agent = try fixture.principal(acme, kind: .agent, scopes: ["tickets:read", "tickets:write"])
            for path in ["/api/v1/audit/events", "/api/v1/audit/events/export?format=csv", "/api/v1/audit/activity", "/api/v1/audit/alerts"] {
                let (status, problem) = try await fixture.get(path, principal: agent)
                #expect(status == 403, "\(path)")
                #expect(problem["code"] as? String == "permission_denied")
            }
            let (anonymous, problem) = try await fixture.send(.GET, "/api/v1/audit/events", as: .service(.gateway, AuditFixture.eu), body: nil)
            #expect(anonymous == 401)
            #expect(problem["code"] as? String == "principal_required")
            let admin = try fixture.principal(acme)
            for (query, field) in [("from=yesterday", "from"), ("limit=5000", "limit"), ("cursor=!!", "cursor"), ("action=DROP", "action"),
                                   ("outcome=maybe", "outcome"), ("from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", "to")] {
                let (status, problem) = try await fixture.get("/api/v1/audit/events?\(query)", principal: admin)
                #expect(status == 422, "\(query)")
                #expect((problem["errors"] as? [[String: Any]])?.first?["field"] as? String == field)
            }
            let (badFormat, _) = try await fixture.get("/api/v1/audit/events/export?format=xlsx", principal: admin)
            #expect(badFormat == 422)
        }
    }

    @Test func everyExportIsAuditedAndCellsCannotRunAsFormulas() async throws {
        try await AuditFixture.with { fixture in
            let acme = try await fixture.tenant()
            var formula = AuditFixture.event(acme)
            formula.resource.label = "=HYPERLINK(\"http://evil.test\",\"x\")"
            try await Self.ingest(fixture, [AuditFixture.event(acme), formula])
            let admin = try fixture.principal(acme)
            let csv = try await fixture.raw(.GET, "/api/v1/audit/events/export?format=csv", principal: admin)
            #expect(csv.status == 200)
            #expect(csv.headers.first(name: "content-type")?.hasPrefix("text/csv") == true)
            let lines = String(decoding: csv.body, as: UTF8.self).split(separator: "\n")
            #expect(lines.first == Substring(EventView.csvHeader))
            // The export event is recorded before the events are read, so it is part of the export.
            #expect(lines.count == 4)
            #expect(lines.contains { $0.contains("\"'=HYPERLINK(") })
            let jsonl = try await fixture.raw(.GET, "/api/v1/audit/events/export?format=jsonl&action=audit.exported", principal: admin)
            let exports = String(decoding: jsonl.body, as: UTF8.self).split(separator: "\n")
            #expect(exports.count == 2)
            let event = try #require(try JSONSerialization.jsonObject(with: Data(exports[0].utf8)) as? [String: Any])
            #expect(event["action"] as? String == "audit.exported")
            #expect((event["actor"] as? [String: Any])?["id"] as? String == "admin-1")
            #expect(try await fixture.verify(acme).broken == nil)
        }
    }

    @Test func alertsAreRaisedOnceListedAndAcknowledged() async throws {
        try await AuditFixture.with { fixture in
            let acme = try await fixture.tenant()
            let failures = (0..<10).map { _ in
                AuditFixture.event(acme, action: "auth.sign_in_failed", actorType: "anonymous", actorID: "unknown", ip: "203.0.113.7", resourceID: "victim", outcome: "failure")
            }
            let spray = (0..<10).map {
                AuditFixture.event(acme, action: "auth.sign_in_failed", actorType: "anonymous", actorID: "unknown", ip: "198.51.100.9", resourceID: "user-\($0)", outcome: "failure")
            }
            var promotion = AuditFixture.event(acme, action: "user.role_changed", actorType: "operator", actorID: "op")
            promotion.changes = ["role": ["agent", "admin"]]
            let sunday = try Date("2026-11-01T03:00:00Z", strategy: .iso8601)
            try await Self.ingest(fixture, failures + spray + [
                promotion,
                AuditFixture.event(acme, action: "api_key.created", actorType: "operator", actorID: "op"),
                AuditFixture.event(acme, action: "security_settings.updated", actorType: "operator", actorID: "op"),
                AuditFixture.event(acme, action: "user.deactivated", actorType: "admin", actorID: "night-owl", occurredAt: sunday),
            ])
            let raised = try await fixture.withParts { parts in
                let first = try await parts.scanner.run(tenant: acme)
                // Every event is judged once: another round raises nothing.
                #expect(try await parts.scanner.run(tenant: acme) == 0)
                return first
            }
            #expect(raised == 6)
            let admin = try fixture.principal(acme)
            let (_, page) = try await fixture.get("/api/v1/audit/alerts", principal: admin)
            let alerts = try #require(page["data"] as? [[String: Any]])
            #expect(Set(alerts.compactMap { $0["rule"] as? String }) == [
                "brute_force", "password_spraying", "privilege_escalation", "credential_created", "security_setting_changed", "off_hours_admin_action",
            ])
            let brute = try #require(alerts.first { $0["rule"] as? String == "brute_force" })
            #expect((brute["evidence_seq"] as? [Int])?.count == 10)
            #expect(brute["severity"] as? String == "high")
            let id = try #require(brute["id"] as? String)
            let (acknowledged, alert) = try await fixture.send(.POST, "/api/v1/audit/alerts/\(id)/acknowledge", as: .service(.gateway, AuditFixture.eu), principal: admin, body: nil)
            #expect(acknowledged == 200)
            #expect(alert["acknowledged_by"] as? String == "admin-1")
            let (_, open) = try await fixture.get("/api/v1/audit/alerts?status=open", principal: admin)
            #expect((open["data"] as? [[String: Any]])?.count == 5)
            let (missing, _) = try await fixture.send(.POST, "/api/v1/audit/alerts/\(UUID())/acknowledge", as: .service(.gateway, AuditFixture.eu), principal: admin, body: nil)
            #expect(missing == 404)
            // Alerts and their acknowledgement are events of the tenant's chain.
            let actions: [String] = try await fixture.superuserValues("SELECT action FROM audit.events WHERE tenant_id = '\(acme)' AND action LIKE 'alert.%'")
            #expect(actions.filter { $0 == "alert.raised" }.count == 6)
            #expect(actions.contains("alert.acknowledged"))
            // Another tenant sees none of them.
            let (_, foreign) = try await fixture.get("/api/v1/audit/alerts?status=all", principal: try fixture.principal(try await fixture.tenant()))
            #expect((foreign["data"] as? [[String: Any]])?.isEmpty == true)
        }
    }

    @Test func activityCountsAgentWorkAndOnlineTimePerDay() async throws {
        try await AuditFixture.with { fixture in
            let acme = try await fixture.tenant()
            func at(_ time: String) throws -> Date { try Date("2026-11-02T\(time):00Z", strategy: .iso8601) }
            func agent(_ action: String, _ time: String, resource: String = "t-1") throws -> AuditEvent {
                AuditFixture.event(acme, action: action, actorType: "agent", actorID: "agent-1", resourceID: resource, occurredAt: try at(time))
            }
            try await Self.ingest(fixture, [
                try agent("auth.signed_in", "09:00"), try agent("ticket.replied", "09:05"), try agent("ticket.note_added", "09:10"),
                try agent("ticket.status_changed", "09:40"), try agent("session.revoked", "09:50", resource: "agent-1"),
                try agent("ticket.replied", "23:58"),
            ])
            let (status, page) = try await fixture.get("/api/v1/audit/activity?from=2026-11-02T00:00:00Z&to=2026-11-04T00:00:00Z", principal: try fixture.principal(acme))
            #expect(status == 200)
            let days = try #require(page["data"] as? [[String: Any]])
            #expect(days.map { $0["day"] as? String } == ["2026-11-02", "2026-11-03"])
            let monday = days[0]
            #expect(monday["replies"] as? Int == 2)
            #expect(monday["notes"] as? Int == 1)
            #expect(monday["status_changes"] as? Int == 1)
            #expect(monday["sign_ins"] as? Int == 1)
            #expect(monday["sign_outs"] as? Int == 1)
            // 09:00–09:15 (last action 09:10 + 5 min), 09:40–09:50 (sign-out), 23:58–24:00.
            #expect(monday["online_seconds"] as? Int == 900 + 600 + 120)
            #expect(days[1]["online_seconds"] as? Int == 180)
            let (tooLong, _) = try await fixture.get("/api/v1/audit/activity?from=2026-01-01T00:00:00Z&to=2026-11-04T00:00:00Z", principal: try fixture.principal(acme))
            #expect(tooLong == 422)
        }
    }

    @Test func aUserRecordedUnderEitherFormOfTheirIdIsOneActorAndOneAgent() async throws {
        try await AuditFixture.with { fixture in
            let acme = try await fixture.tenant()
            let user = UUID()
            let bare = user.uuidString.lowercased(), subject = "user:\(bare)"
            func at(_ time: String) throws -> Date { try Date("2026-11-02T\(time):00Z", strategy: .iso8601) }
            // Identity records the bare id (sign-in, its own session revoked), tickets the principal's subject.
            try await Self.ingest(fixture, [
                AuditFixture.event(acme, action: "auth.signed_in", actorType: "agent", actorID: bare, resourceID: bare, occurredAt: try at("09:00")),
                AuditFixture.event(acme, action: "ticket.replied", actorType: "agent", actorID: subject, resourceID: "t-1", occurredAt: try at("09:05")),
                AuditFixture.event(acme, action: "session.revoked", actorType: "agent", actorID: subject, resourceID: bare, occurredAt: try at("09:08")),
                AuditFixture.event(acme, action: "ticket.replied", actorType: "agent", actorID: "someone-else", resourceID: "t-2", occurredAt: try at("09:06")),
            ])
            let admin = try fixture.principal(acme)
            for form in [bare, subject, user.uuidString.uppercased()] {
                let (status, page) = try await fixture.get("/api/v1/audit/events?actor=\(form)", principal: admin)
                #expect(status == 200)
                let actions = try #require(page["data"] as? [[String: Any]]).map { $0["action"] as? String }
                #expect(actions == ["session.revoked", "ticket.replied", "auth.signed_in"], "actor=\(form)")
            }
            let range = "from=2026-11-02T00:00:00Z&to=2026-11-03T00:00:00Z"
            let (status, page) = try await fixture.get("/api/v1/audit/activity?\(range)", principal: admin)
            #expect(status == 200)
            let days = try #require(page["data"] as? [[String: Any]])
            let theirs = days.filter { $0["agent_id"] as? String == subject }
            #expect(days.count == 2 && theirs.count == 1)
            #expect(theirs.first?["sign_ins"] as? Int == 1 && theirs.first?["replies"] as? Int == 1 && theirs.first?["sign_outs"] as? Int == 1)
            // 09:00 until the sign-out at 09:08.
            #expect(theirs.first?["online_seconds"] as? Int == 480)
            for form in [bare, subject] {
                let (_, one) = try await fixture.get("/api/v1/audit/activity?\(range)&agent=\(form)", principal: admin)
                #expect((one["data"] as? [[String: Any]])?.map { $0["agent_id"] as? String } == [subject], "agent=\(form)")
            }
        }
    }

    @Test func settingsChangesNeedSecurityWriteAndAreRecorded() async throws {
        try await AuditFixture.with { fixture in
            let acme = try await fixture.tenant()
            let body = Data(#"{"retention_days":90,"brute_force_threshold":5,"spraying_threshold":10,"export_threshold":5,"business_hours_start":8,"business_hours_end":18,"time_zone":"Europe/Berlin"}"#.utf8)
            let reader = try fixture.principal(acme, scopes: ["audit:read"])
            let (refused, _) = try await fixture.send(.PUT, "/api/v1/audit/settings", as: .service(.gateway, AuditFixture.eu), principal: reader, body: body)
            #expect(refused == 403)
            let admin = try fixture.principal(acme)
            let (stored, settings) = try await fixture.send(.PUT, "/api/v1/audit/settings", as: .service(.gateway, AuditFixture.eu), principal: admin, body: body)
            #expect(stored == 200)
            #expect(settings["retention_days"] as? Int == 90)
            let (invalid, problem) = try await fixture.send(.PUT, "/api/v1/audit/settings", as: .service(.gateway, AuditFixture.eu), principal: admin,
                                                            body: Data(String(decoding: body, as: UTF8.self).replacingOccurrences(of: "90", with: "3").utf8))
            #expect(invalid == 422)
            #expect((problem["errors"] as? [[String: Any]])?.first?["field"] as? String == "retention_days")
            // Only what the gateway's WAF reads as JSON is read as settings: the exact type, UTF-8 without a byte-order mark.
            for (type, prefix, status, code) in [("text/plain", "", 415, "unsupported_media_type"), ("application/json", "\u{FEFF}", 400, "malformed_body")] {
                let reply = try await fixture.raw(.PUT, "/api/v1/audit/settings", principal: admin,
                                                  body: Data((prefix + String(decoding: body, as: UTF8.self).replacingOccurrences(of: "90", with: "45")).utf8),
                                                  contentType: type)
                #expect(reply.status == status, "\(type)")
                #expect(((try? JSONSerialization.jsonObject(with: reply.body)) as? [String: Any])?["code"] as? String == code)
            }
            let (_, read) = try await fixture.get("/api/v1/audit/settings", principal: admin)
            #expect(read["time_zone"] as? String == "Europe/Berlin")
            let (_, page) = try await fixture.get("/api/v1/audit/events?action=audit_settings.updated", principal: admin)
            let event = try #require((page["data"] as? [[String: Any]])?.first)
            #expect((event["changes"] as? [String: [String]])?["retention_days"] == ["365", "90"])
        }
    }

    /// The settings carry an `ETag` (a digest of their content); a `PUT` with `If-Match` applies
    /// only to that version (compared strongly), so a client working from old settings does not
    /// undo someone else's change.
    @Test func settingsCarryAnETagAndAStaleIfMatchChangesNothing() async throws {
        try await AuditFixture.with { fixture in
            let admin = try fixture.principal(try await fixture.tenant())
            @Sendable func put(_ retention: Int, ifMatch: String?) async throws -> InternalClient.Reply {
                let body = Data(#"{"retention_days":\#(retention),"brute_force_threshold":5,"spraying_threshold":10,"export_threshold":5,"business_hours_start":8,"business_hours_end":18,"time_zone":"UTC"}"#.utf8)
                let client = InternalClient(tls: try InternalTLS(files: try fixture.pki.files(for: .service(.gateway, AuditFixture.eu))))
                let reply = try await client.send(.PUT, url: fixture.audit.baseURL + "/api/v1/audit/settings", principal: admin, body: body,
                                                  headers: ifMatch.map { [("If-Match", $0)] } ?? [])
                try await client.shutdown()
                return reply
            }
            let first = try #require(try await fixture.raw(.GET, "/api/v1/audit/settings", principal: admin).headers.first(name: "etag"))
            let changed = try await put(90, ifMatch: first)
            #expect(changed.status == 200)
            let second = try #require(changed.headers.first(name: "etag"))
            #expect(second != first && second.count == 34)
            for refused in [first, "W/" + second, "90"] {
                let stale = try await put(120, ifMatch: refused)
                #expect(stale.status == 412, "\(refused)")
                #expect(String(decoding: stale.body, as: UTF8.self).contains("version_mismatch"))
            }
            #expect(try await fixture.get("/api/v1/audit/settings", principal: admin).1["retention_days"] as? Int == 90)
            #expect(try await put(120, ifMatch: #""other", \#(second)"#).status == 200)
            let unconditional = try await put(90, ifMatch: nil)
            #expect(unconditional.headers.first(name: "etag") == second, "the same settings, the same version")

            // Two writers holding the same version meet while the settings' row is locked (both
            // have arrived before either may write): exactly one applies. Without the per-tenant
            // lock both would read the same version and both would apply.
            let (statuses, met) = try await fixture.database.whileLocked("SELECT 1 FROM audit.tenant_settings FOR UPDATE", waiters: 2) {
                try await withThrowingTaskGroup(of: Int.self) { group in
                    for retention in [100, 200] { group.addTask { try await put(retention, ifMatch: second).status } }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
            }
            #expect(met, "both writers reached the locked row")
            #expect(statuses.sorted() == [200, 412])
        }
    }
}
