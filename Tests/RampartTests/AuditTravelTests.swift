import Foundation
@testable import Audit
@testable import Control
import RampartCore
import RampartSecurity
import Testing

@Suite("Audit: impossible travel")
struct AuditTravelTests {
    /// Addresses of the test database's cities (Fixtures/geoip/geoip.py).
    static let berlin = "5.10.1.1", hamburg = "5.10.200.7", potsdam = "5.11.0.9", sydney = "1.121.4.4", tokyo = "43.224.1.1"
    static let start = Date(timeIntervalSince1970: 1_795_000_000)

    /// A successful sign-in of `user` from `ip`, `minutes` after ``start``.
    static func signIn(_ tenant: TenantID, _ user: String, _ ip: String, minutes: Double) -> AuditEvent {
        AuditFixture.event(tenant, action: "auth.signed_in", actorType: "agent", actorID: user, ip: ip, resourceID: user,
                           occurredAt: start.addingTimeInterval(minutes * 60))
    }

    /// Audit with the test GeoIP database configured.
    static func withGeoIP<R: Sendable>(_ body: @escaping @Sendable (AuditFixture) async throws -> R) async throws -> R {
        let path = try await GeoIPTestDatabase.write()
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try await AuditFixture.with(extraConfig: [GeoIPLocator.configKey: path], body)
    }

    /// The tenant's alerts of the impossible-travel rule, as its admin lists them.
    static func travelAlerts(_ fixture: AuditFixture, _ tenant: TenantID) async throws -> [[String: Any]] {
        let (status, page) = try await fixture.get("/api/v1/audit/alerts?status=all&limit=100", principal: try fixture.principal(tenant))
        #expect(status == 200)
        return (page["data"] as? [[String: Any]] ?? []).filter { $0["rule"] as? String == "impossible_travel" }
    }

    /// Runs the rules over `tenant`'s new events.
    static func scan(_ fixture: AuditFixture, _ tenant: TenantID) async throws -> Int {
        try await fixture.withParts { parts in try await parts.scanner.run(tenant: tenant) }
    }

    @Test func berlinToSydneyWithinAnHourRaisesOneAlertWithBothPlaces() async throws {
        try await Self.withGeoIP { fixture in
            let acme = try await fixture.tenant()
            try await AuditQueryTests.ingest(fixture, [Self.signIn(acme, "ada", Self.berlin, minutes: 0), Self.signIn(acme, "ada", Self.sydney, minutes: 60)])
            #expect(try await Self.scan(fixture, acme) == 1)
            let alerts = try await Self.travelAlerts(fixture, acme)
            let alert = try #require(alerts.first)
            #expect(alerts.count == 1)
            #expect(alert["severity"] as? String == "high")
            #expect(alert["evidence_seq"] as? [Int] == [1, 2])
            #expect(alert["summary"] as? String == "two sign-ins of one user 16095 km apart within 1.0 h (16095 km/h)")
            let travel = try #require(alert["travel"] as? [String: Any])
            #expect(travel["distance_km"] as? Int == 16095)
            #expect(travel["elapsed_seconds"] as? Int == 3600)
            #expect(travel["speed_kmh"] as? Int == 16095)
            let from = try #require(travel["from"] as? [String: Any])
            let to = try #require(travel["to"] as? [String: Any])
            #expect(from["city"] as? String == "Berlin")
            #expect(from["country"] as? String == "DE")
            #expect(from["latitude"] as? Double == 52.5)
            #expect(from["longitude"] as? Double == 13.4)
            #expect(from["signed_in_at"] as? String == AuditRecord.timestamp(Self.start))
            #expect(to["city"] as? String == "Sydney")
            #expect(to["latitude"] as? Double == -33.9)
            #expect(to["longitude"] as? Double == 151.2)

            // Nothing personal in clear: the places are sealed in the alert row and in the chain.
            let stored: [String] = try await fixture.superuserValues("SELECT summary || coalesce(details, '') FROM audit.alerts WHERE tenant_id = '\(acme)'")
            #expect(stored.count == 1)
            #expect(!stored.contains { $0.contains("Berlin") || $0.contains("Sydney") || $0.contains("52.5") })
            let records: [String] = try await fixture.superuserValues("SELECT record FROM audit.events WHERE tenant_id = '\(acme)' AND action = 'alert.raised'")
            #expect(records.count == 1 && !records[0].contains("Berlin"))
            let (_, page) = try await fixture.get("/api/v1/audit/events?action=alert.raised", principal: try fixture.principal(acme))
            let changes = try #require((page["data"] as? [[String: Any]])?.first?["changes"] as? [String: [Any]])
            #expect(changes["rule"]?.last as? String == "impossible_travel")
            #expect(changes["from"]?.last as? String == "Berlin, DE")
            #expect(changes["to"]?.last as? String == "Sydney, AU")
            #expect(changes["speed_kmh"]?.last as? String == "16095")

            // Never twice for the same pair: not on the next round, and not when the rules are
            // made to judge the same events again.
            #expect(try await Self.scan(fixture, acme) == 0)
            try await fixture.tamper(["UPDATE audit.alert_progress SET scanned_seq = 0 WHERE tenant_id = '\(acme)'"])
            #expect(try await Self.scan(fixture, acme) == 0)
            #expect(try await Self.travelAlerts(fixture, acme).count == 1)

            // Acknowledgeable like every alert.
            let id = try #require(alert["id"] as? String)
            let (acknowledged, _) = try await fixture.send(.POST, "/api/v1/audit/alerts/\(id)/acknowledge", as: .service(.gateway, AuditFixture.eu),
                                                           principal: try fixture.principal(acme), body: nil)
            #expect(acknowledged == 200)
            #expect(try await fixture.verify(acme).broken == nil)

            // Crypto-shredding the tenant erases the places with everything else personal.
            try await fixture.keyring.destroy(acme)
            let erased = try await fixture.withParts { parts in try await AlertRepository(store: parts.store).list(tenant: acme, status: .all, before: nil, limit: 10) }
            #expect(erased.count == 1 && erased[0].travel == nil)
        }
    }

    @Test func nearbySlowAndUnlocatableSignInsRaiseNothing() async throws {
        try await Self.withGeoIP { fixture in
            let acme = try await fixture.tenant()
            try await AuditQueryTests.ingest(fixture, [
                // 27 km in ten minutes: fast, but within GeoIP's error.
                Self.signIn(acme, "near", Self.berlin, minutes: 0), Self.signIn(acme, "near", Self.potsdam, minutes: 10),
                // 255 km in ten minutes: under the default 500 km minimum.
                Self.signIn(acme, "hamburg", Self.berlin, minutes: 0), Self.signIn(acme, "hamburg", Self.hamburg, minutes: 10),
                // Berlin to Sydney in 30 hours: 536 km/h, a plane could.
                Self.signIn(acme, "slow", Self.berlin, minutes: 0), Self.signIn(acme, "slow", Self.sydney, minutes: 30 * 60),
                // Private, not in the database, country only, none: never located, never compared.
                Self.signIn(acme, "hidden", Self.berlin, minutes: 0), Self.signIn(acme, "hidden", "10.0.0.8", minutes: 5),
                Self.signIn(acme, "hidden", "8.8.8.8", minutes: 6), Self.signIn(acme, "hidden", "41.0.0.1", minutes: 7),
                AuditFixture.event(acme, action: "auth.signed_in", actorType: "agent", actorID: "hidden", ip: nil, resourceID: "hidden",
                                   occurredAt: Self.start.addingTimeInterval(8 * 60)),
                // A failed sign-in is not a sign-in.
                AuditFixture.event(acme, action: "auth.sign_in_failed", actorType: "agent", actorID: "near", ip: Self.tokyo, resourceID: "near",
                                   outcome: "failure", occurredAt: Self.start.addingTimeInterval(20 * 60)),
            ])
            #expect(try await Self.scan(fixture, acme) == 0)
            #expect(try await Self.travelAlerts(fixture, acme).isEmpty)
        }
    }

    @Test func thresholdsArePerTenant() async throws {
        try await Self.withGeoIP { fixture in
            let strict = try await fixture.tenant()
            let body = #"{"retention_days":365,"brute_force_threshold":10,"spraying_threshold":10,"export_threshold":5,"business_hours_start":7,"business_hours_end":19,"time_zone":"UTC","travel_speed_kmh":400,"travel_min_distance_km":100}"#
            let (stored, settings) = try await fixture.send(.PUT, "/api/v1/audit/settings", as: .service(.gateway, AuditFixture.eu),
                                                            principal: try fixture.principal(strict), body: Data(body.utf8))
            #expect(stored == 200)
            #expect(settings["travel_speed_kmh"] as? Int == 400)
            for (field, value) in [("travel_speed_kmh", "99"), ("travel_min_distance_km", "-1")] {
                let invalid = body.replacingOccurrences(of: "\"\(field)\":\(field == "travel_speed_kmh" ? "400" : "100")", with: "\"\(field)\":\(value)")
                let (status, problem) = try await fixture.send(.PUT, "/api/v1/audit/settings", as: .service(.gateway, AuditFixture.eu),
                                                               principal: try fixture.principal(strict), body: Data(invalid.utf8))
                #expect(status == 422)
                #expect((problem["errors"] as? [[String: Any]])?.first?["field"] as? String == field)
            }
            let lenient = try await fixture.tenant()
            for tenant in [strict, lenient] {
                try await AuditQueryTests.ingest(fixture, [
                    Self.signIn(tenant, "hamburg", Self.berlin, minutes: 0), Self.signIn(tenant, "hamburg", Self.hamburg, minutes: 10),
                    Self.signIn(tenant, "slow", Self.berlin, minutes: 0), Self.signIn(tenant, "slow", Self.sydney, minutes: 30 * 60),
                ])
            }
            _ = try await Self.scan(fixture, strict)
            _ = try await Self.scan(fixture, lenient)
            #expect(try await Self.travelAlerts(fixture, strict).count == 2)
            #expect(try await Self.travelAlerts(fixture, lenient).isEmpty)
        }
    }

    @Test func signInsOfAnotherTenantAreNeverCompared() async throws {
        try await Self.withGeoIP { fixture in
            let acme = try await fixture.tenant()
            let globex = try await fixture.tenant()
            // The same user id in two tenants, Berlin then Sydney an hour later.
            try await AuditQueryTests.ingest(fixture, [Self.signIn(acme, "shared-id", Self.berlin, minutes: 0)])
            try await AuditQueryTests.ingest(fixture, [Self.signIn(globex, "shared-id", Self.sydney, minutes: 60)])
            #expect(try await Self.scan(fixture, acme) == 0)
            #expect(try await Self.scan(fixture, globex) == 0)
            #expect(try await Self.travelAlerts(fixture, globex).isEmpty)
        }
    }

    @Test func aLateSignInIsComparedWithBothNeighbours() async throws {
        try await Self.withGeoIP { fixture in
            let acme = try await fixture.tenant()
            try await AuditQueryTests.ingest(fixture, [Self.signIn(acme, "ada", Self.berlin, minutes: 0), Self.signIn(acme, "ada", Self.berlin, minutes: 120)])
            #expect(try await Self.scan(fixture, acme) == 0)
            // Delivered late: Tokyo between the two Berlin sign-ins.
            try await AuditQueryTests.ingest(fixture, [Self.signIn(acme, "ada", Self.tokyo, minutes: 60)])
            #expect(try await Self.scan(fixture, acme) == 2)
            let evidence = try await Self.travelAlerts(fixture, acme).compactMap { $0["evidence_seq"] as? [Int] }
            #expect(Set(evidence) == [[1, 3], [2, 3]])
        }
    }

    @Test func withoutAGeoIPDatabaseTheRuleIsOff() async throws {
        try await AuditFixture.with { fixture in
            let acme = try await fixture.tenant()
            try await AuditQueryTests.ingest(fixture, [Self.signIn(acme, "ada", Self.berlin, minutes: 0), Self.signIn(acme, "ada", Self.sydney, minutes: 60)])
            #expect(try await Self.scan(fixture, acme) == 0)
            #expect(try await Self.travelAlerts(fixture, acme).isEmpty)
        }
    }
}
