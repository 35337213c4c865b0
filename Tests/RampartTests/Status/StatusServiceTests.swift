import Foundation
import NIOHTTP1
import RampartCore
import RampartSecurity
@testable import Status
import Testing

@Suite("Status: the running service over mutual TLS", .serialized)
struct StatusServiceTests {
    let eu = StatusFixture.eu
    let us = StatusFixture.us

    func componentStatus(_ reply: StatusFixture.Reply, _ id: String) -> String? {
        reply.json?["components"]?.items.first { $0["id"]?.string == id }?["status"]?.string
    }

    @Test func thePageShowsAServiceDownThenARegionDown() async throws {
        try await StatusFixture.with { fixture in
            // A probe slower than the latency threshold reads as degraded: on a machine busy with
            // the rest of the suite (the browser suite above all) the baseline gets a few tries.
            var healthy = try await fixture.probe(eu)
            for _ in 0..<4 where !healthy.values.allSatisfy({ $0 == .operational }) {
                healthy = try await fixture.probe(eu)
            }
            #expect(healthy.count == 12)
            #expect(healthy.values.allSatisfy { $0 == .operational })
            let page = try await fixture.send(eu, .GET, "/")
            #expect(page.status == 200)
            #expect(page.headers.first(name: "content-type") == "text/html; charset=utf-8")
            #expect(page.headers.first(name: "cache-control") == PublicRoutes.cacheControl)
            #expect(page.headers.first(name: "content-security-policy") == StatusPageHTML.contentSecurityPolicy)
            #expect(page.text.contains("All Systems Operational"))
            let summary = try await fixture.send(eu, .GET, "/api/v2/summary.json")
            #expect(summary.status == 200)
            #expect(summary.headers.first(name: "access-control-allow-origin") == "*")
            #expect(summary.json?["status"]?["indicator"]?.string == "none")
            let today = DayStamp(fixture.clock.now())
            let baseline = try await fixture.status(eu).probes.dailyCounts(from: today)

            // One failed probe does not move the page; the second does.
            await fixture.stop(.tickets, in: eu)
            #expect(try await fixture.probe(eu, rounds: 1)[Component(region: eu, kind: .tickets)] == .operational)
            let afterTwo = try await fixture.probe(eu, rounds: 1)
            #expect(afterTwo[Component(region: eu, kind: .tickets)] == .majorOutage)
            #expect(afterTwo.filter { $0.value != .operational }.count == 1)
            let down = try await fixture.send(eu, .GET, "/api/v2/summary.json")
            #expect(componentStatus(down, "eu-tickets") == "major_outage")
            #expect(componentStatus(down, "eu") == "major_outage")
            #expect(componentStatus(down, "eu-identity") == "operational")
            #expect(down.json?["status"]?["indicator"]?.string == "critical")

            // The whole us region goes away, its status instance with it: eu still serves the page.
            for service in StatusFixture.probed + [.status] { await fixture.stop(service, in: us) }
            let regionDown = try await fixture.probe(eu)
            for kind in ComponentKind.allCases {
                #expect(regionDown[Component(region: us, kind: kind)] == .majorOutage, "us-\(kind)")
            }
            let page2 = try await fixture.send(eu, .GET, "/")
            #expect(page2.status == 200)
            #expect(page2.text.contains("Region US <span class=\"status major_outage\">Major outage</span>"))
            let components = try await fixture.send(eu, .GET, "/api/v2/components.json")
            #expect(componentStatus(components, "us-database") == "major_outage")
            #expect(componentStatus(components, "us") == "major_outage")

            // Every round after the baseline was stored: four samples, the last three of eu-tickets
            // published as down (the baseline itself took as many rounds as the machine's load asked for).
            let counts = try await fixture.status(eu).probes.dailyCounts(from: today)
            func sinceBaseline(_ id: String) -> SampleCounts? {
                guard let now = counts[id]?[today] else { return nil }
                let before = baseline[id]?[today] ?? SampleCounts()
                return SampleCounts(samples: now.samples - before.samples, majorOutage: now.majorOutage - before.majorOutage,
                                    partialOutage: now.partialOutage - before.partialOutage, maintenance: now.maintenance - before.maintenance)
            }
            #expect(baseline["eu-tickets"]?[today]?.samples ?? 0 >= 2)
            #expect(sinceBaseline("eu-tickets") == SampleCounts(samples: 4, majorOutage: 3))
            #expect(sinceBaseline("eu-identity") == SampleCounts(samples: 4))
            // us went down before the last two rounds: hysteresis held the first, the second counts.
            #expect(sinceBaseline("us-gateway") == SampleCounts(samples: 4, majorOutage: 1))
        }
    }

    @Test func operatorWritesAreValidatedStoredAndReplicatedToEveryRegion() async throws {
        try await StatusFixture.with { fixture in
            let op = CallerIdentity.operator("alice")
            let created = try await fixture.send(eu, .POST, "/internal/v1/operator/incidents", as: op, json: """
                {"name":"Slow ticket search","message":"We are investigating slow searches.","impact":"major","components":["eu-tickets"],"security":true}
                """)
            #expect(created.status == 201)
            let id = try #require(created.json?["id"]?.string).lowercased()
            #expect(created.json?["updates"]?.items.first?["author"]?.string == "alice")

            // Bad input: precise problems, nothing stored.
            let bad: [(String, String, Int, String)] = [
                ("incidents", #"{"name":"X","message":"m","components":["eu-mail"]}"#, 422, "components"),
                ("incidents", #"{"name":"X","message":"   "}"#, 422, "message"),
                ("incidents", #"{"name":"","message":"m"}"#, 422, "name"),
                ("incidents", #"{"name":"X","message":"m","impact":"apocalyptic"}"#, 422, "impact"),
                ("incidents", #"{"name":"X","message":"m","status":"resolved"}"#, 422, "status"),
                ("maintenances", #"{"name":"X","message":"m","scheduled_for":"2030-01-01T02:00:00Z","scheduled_until":"2030-01-01T01:00:00Z"}"#, 422, "scheduled_until"),
                ("incidents/\(id)/updates", #"{"status":"identified","message":""}"#, 422, "message"),
                ("incidents/\(id)/updates", #"{"status":"in_progress","message":"m"}"#, 422, "status"),
            ]
            for (path, body, status, field) in bad {
                let reply = try await fixture.send(eu, .POST, "/internal/v1/operator/\(path)", as: op, json: body)
                #expect(reply.status == status, "\(path) \(body)")
                #expect(reply.headers.first(name: "content-type") == "application/problem+json")
                #expect(reply.json?["errors"]?.items.contains { $0["field"]?.string == field } == true, "\(body)")
            }
            let malformed = try await fixture.send(eu, .POST, "/internal/v1/operator/incidents", as: op, json: "{not json")
            #expect(malformed.status == 400)
            let unknown = try await fixture.send(eu, .POST, "/internal/v1/operator/incidents/\(UUID())/updates", as: op, json: #"{"status":"resolved","message":"m"}"#)
            #expect(unknown.status == 404)
            let asWindow = try await fixture.send(eu, .POST, "/internal/v1/operator/maintenances/\(id)/updates", as: op, json: #"{"status":"completed","message":"m"}"#)
            #expect(asWindow.status == 404)

            // Forward only; resolved is final.
            let identified = try await fixture.send(eu, .POST, "/internal/v1/operator/incidents/\(id)/updates", as: op, json: #"{"status":"identified","message":"An index is rebuilding."}"#)
            #expect(identified.status == 200)
            let backwards = try await fixture.send(eu, .POST, "/internal/v1/operator/incidents/\(id)/updates", as: op, json: #"{"status":"investigating","message":"Back?"}"#)
            #expect(backwards.status == 409)
            #expect(backwards.json?["code"]?.string == "invalid_transition")

            // Only operators write; the public API is read-only.
            for caller in [CallerIdentity.service(.gateway, eu), .service(.tickets, eu), .service(.status, us)] {
                let refused = try await fixture.send(eu, .POST, "/internal/v1/operator/incidents", as: caller, json: #"{"name":"X","message":"m"}"#)
                #expect(refused.status == 403, "\(caller)")
            }
            let publicWrite = try await fixture.send(eu, .POST, "/api/v2/incidents.json", json: #"{"name":"X"}"#)
            #expect(publicWrite.status == 403)
            #expect(try await fixture.status(eu).incidents.recent(since: .distantPast).count == 1)

            // Delivered to us, once; a repeated copy changes nothing.
            #expect(try await fixture.status(eu).replicator.deliverDue() == 1)
            #expect(try await fixture.status(eu).replicator.deliverDue() == 0)
            let inUS = try await fixture.send(us, .GET, "/api/v2/incidents/unresolved.json", as: .service(.gateway, us))
            #expect(inUS.json?["incidents"]?.items.first?["id"]?.string == id)
            #expect(inUS.json?["incidents"]?.items.first?["incident_updates"]?.items.count == 2)
            let uuid = try #require(UUID(uuidString: id))
            let copy = try #require(try await fixture.status(eu).incidents.find(id: uuid))
            #expect(try await fixture.status(us).incidents.apply(copy) == false)

            // Copies come from other regions' status instances only, and must be well-formed.
            let body = String(decoding: try Replicator.encoder.encode(copy), as: UTF8.self)
            for caller in [CallerIdentity.operator("mallory"), .service(.status, us), .service(.tickets, eu)] {
                let forged = try await fixture.send(us, .POST, Replicator.path, as: caller, json: body)
                #expect(forged.status == 403, "\(caller)")
            }
            var broken = copy
            broken.revision += 1
            broken.componentIDs = ["eu-mail"]
            let invalid = try await fixture.send(us, .POST, Replicator.path, as: .service(.status, eu), json: String(decoding: try Replicator.encoder.encode(broken), as: UTF8.self))
            #expect(invalid.status == 422)

            // With us down, a new window waits in the outbox and arrives once us is back.
            await fixture.stop(.status, in: us)
            let start = fixture.clock.now().addingTimeInterval(86400)
            let window = try await fixture.send(eu, .POST, "/internal/v1/operator/maintenances", as: op, json: """
                {"name":"Database upgrade","message":"Minor version upgrade.","scheduled_for":"\(Markup.iso(start))","scheduled_until":"\(Markup.iso(start.addingTimeInterval(3600)))","components":["us-database"]}
                """)
            #expect(window.status == 201)
            #expect(try await fixture.status(eu).replicator.deliverDue() == 0)
            let listing = try await fixture.send(eu, .GET, "/internal/v1/operator/incidents", as: op)
            #expect(listing.json?["undelivered"]?["us"] == .number(1))
            try await fixture.start(.status, in: us)
            #expect(try await fixture.status(eu).replicator.deliverDue() == 0, "not due before its backoff")
            // Retried on its backoff until accepted (a connection to the old instance may fail once more).
            var delivered = 0
            for _ in 0..<4 where delivered == 0 {
                fixture.clock.advance(by: 30)
                delivered = try await fixture.status(eu).replicator.deliverDue()
            }
            #expect(delivered == 1)
            let upcoming = try await fixture.send(us, .GET, "/api/v2/scheduled-maintenances/upcoming.json", as: .service(.gateway, us))
            #expect(upcoming.json?["scheduled_maintenances"]?.items.first?["name"]?.string == "Database upgrade")

            // A write through us reaches eu the same way.
            let resolved = try await fixture.send(us, .POST, "/internal/v1/operator/incidents/\(id)/updates", as: op, json: #"{"status":"resolved","message":"Fixed."}"#)
            #expect(resolved.status == 200)
            #expect(try await fixture.status(us).replicator.deliverDue() == 1)
            let history = try await fixture.send(eu, .GET, "/api/v2/incidents.json")
            #expect(history.json?["incidents"]?.items.first?["status"]?.string == "resolved")
            #expect(history.json?["incidents"]?.items.first?["incident_updates"]?.items.count == 3)
            let closed = try await fixture.send(eu, .POST, "/internal/v1/operator/incidents/\(id)/updates", as: op, json: #"{"status":"resolved","message":"Again."}"#)
            #expect(closed.status == 409)
        }
    }

    @Test func thePageKeepsAnsweringWhenItsOwnDatabaseIsDown() async throws {
        try await StatusFixture.with { fixture in
            let op = CallerIdentity.operator("alice")
            let created = try await fixture.send(eu, .POST, "/internal/v1/operator/incidents", as: op, json: #"{"name":"Audit log delays","message":"Events arrive late.","components":["eu-audit"]}"#)
            #expect(created.status == 201)
            try await fixture.probe(eu)
            #expect(try await fixture.send(eu, .GET, "/").text.contains("Audit log delays"))

            try await fixture.withStatusDatabaseBlocked(eu) {
                let page = try await fixture.send(eu, .GET, "/")
                #expect(page.status == 200)
                #expect(page.text.contains("cannot reach its own records"))
                #expect(page.text.contains("Audit log delays"))
                let summary = try await fixture.send(eu, .GET, "/api/v2/summary.json")
                #expect(summary.status == 200)
                #expect(summary.json?["incidents"]?.items.count == 1)
                #expect(try await fixture.send(eu, .GET, "/history.atom").status == 200)
                // Probing goes on from memory: a service going down still shows.
                await fixture.stop(.identity, in: eu)
                let live = try await fixture.probe(eu)
                #expect(live[Component(region: eu, kind: .identity)] == .majorOutage)
                #expect(componentStatus(try await fixture.send(eu, .GET, "/api/v2/components.json"), "eu-identity") == "major_outage")
                // Writes cannot be taken: a problem, not a half-written record.
                let refused = try await fixture.send(eu, .POST, "/internal/v1/operator/incidents", as: op, json: #"{"name":"X","message":"m"}"#)
                #expect(refused.status >= 500)
                #expect(refused.headers.first(name: "content-type") == "application/problem+json")
            }
            // The connection pool reconnects on its own schedule; the notice goes once it has.
            var recovered = try await fixture.send(eu, .GET, "/")
            for _ in 0..<40 where recovered.text.contains("cannot reach its own records") {
                try await Task.sleep(for: .milliseconds(500))
                recovered = try await fixture.send(eu, .GET, "/")
            }
            #expect(recovered.status == 200)
            #expect(!recovered.text.contains("cannot reach its own records"))
            #expect(try await fixture.status(eu).incidents.recent(since: .distantPast).count == 1)
        }
    }
}
