import Foundation
import RampartCore
import RampartSecurity
import RampartTransport
import Testing

@Suite("Allow-list")
struct AllowListTests {
    let eu = Region(rawValue: "eu")!
    let us = Region(rawValue: "us")!

    var shipped: AllowList { get throws { try AllowList(contentsOf: RunningService.allowListPath) } }

    @Test func shippedPolicyLetsStatusProbeEveryServiceInEveryRegion() throws {
        for service in ServiceName.allCases {
            #expect(try shipped.allows(.service(.status, us), method: "GET", path: "/healthz", service: service, region: eu))
        }
        #expect(try !shipped.allows(.service(.status, us), method: "POST", path: "/healthz", service: .tickets, region: eu))
        #expect(try !shipped.allows(.service(.status, eu), method: "GET", path: "/metrics", service: .tickets, region: eu))
    }

    @Test func shippedPolicyKeepsServicesInTheirRegion() throws {
        #expect(try shipped.allows(.service(.gateway, eu), method: "GET", path: "/api/v1/tickets/1", service: .tickets, region: eu))
        #expect(try !shipped.allows(.service(.gateway, us), method: "GET", path: "/api/v1/tickets/1", service: .tickets, region: eu))
        #expect(try !shipped.allows(.service(.tickets, eu), method: "GET", path: "/internal/v1/principal", service: .identity, region: eu))
        #expect(try shipped.allows(.service(.tickets, eu), method: "POST", path: "/internal/v1/events", service: .audit, region: eu))
        #expect(try !shipped.allows(.service(.tickets, eu), method: "GET", path: "/internal/v1/events", service: .audit, region: eu))
    }

    /// Tickets and audit read identity's staff directory (names for the console and the log
    /// viewer) and nothing else of identity.
    @Test func shippedPolicyLetsTicketsAndAuditReadOnlyTheStaffDirectory() throws {
        let tenant = UUID().uuidString.lowercased()
        for service in [ServiceName.tickets, .audit] {
            #expect(try shipped.allows(.service(service, eu), method: "GET", path: "/internal/v1/staff-directory/\(tenant)", service: .identity, region: eu))
            #expect(try !shipped.allows(.service(service, eu), method: "POST", path: "/internal/v1/staff-directory/\(tenant)", service: .identity, region: eu))
            #expect(try !shipped.allows(.service(service, us), method: "GET", path: "/internal/v1/staff-directory/\(tenant)", service: .identity, region: eu))
            #expect(try !shipped.allows(.service(service, eu), method: "GET", path: "/internal/v1/tenants/\(tenant)", service: .identity, region: eu))
            #expect(try !shipped.allows(.service(service, eu), method: "GET", path: "/api/v1/users", service: .identity, region: eu))
            #expect(try !shipped.allows(.service(service, eu), method: "GET", path: "/internal/v1/principal", service: .identity, region: eu))
        }
        for caller in [CallerIdentity.service(.gateway, eu), .service(.backup, eu), .service(.status, eu), .operator("alice")] {
            #expect(try !shipped.allows(caller, method: "GET", path: "/internal/v1/staff-directory/\(tenant)", service: .identity, region: eu), "\(caller)")
        }
    }

    @Test func prefixesMatchWholeSegmentsOnly() throws {
        let list = try AllowList(rules: [.init(from: "gateway", to: "tickets", routes: ["/api/v1/tickets", "/files/"], methods: nil, crossRegion: nil)])
        let gateway = CallerIdentity.service(.gateway, eu)
        #expect(list.allows(gateway, method: "GET", path: "/api/v1/tickets", service: .tickets, region: eu))
        #expect(list.allows(gateway, method: "GET", path: "/api/v1/tickets/9", service: .tickets, region: eu))
        #expect(!list.allows(gateway, method: "GET", path: "/api/v1/ticketsx", service: .tickets, region: eu))
        #expect(list.allows(gateway, method: "GET", path: "/files/a/b", service: .tickets, region: eu))
        #expect(!list.allows(gateway, method: "GET", path: "/api/v1/tickets", service: .audit, region: eu))
        #expect(!list.allows(.operator("alice"), method: "GET", path: "/api/v1/tickets", service: .tickets, region: eu))
    }

    @Test(arguments: [
        "version: 2\nrules: []",
        "version: 1\nrules:\n  - {from: mallory, to: tickets, routes: [/x]}",
        "version: 1\nrules:\n  - {from: gateway, to: nowhere, routes: [/x]}",
        "version: 1\nrules:\n  - {from: gateway, to: tickets, routes: [x]}",
        "version: 1\nrules:\n  - {from: gateway, to: tickets, routes: []}",
        "not: [valid",
    ])
    func refusesInvalidPolicies(_ yaml: String) {
        #expect(throws: AllowListError.self) { try AllowList(yaml: yaml) }
    }

    @Test func callerIdentityParsesOnlyRampartURIs() {
        #expect(CallerIdentity(uri: "spiffe://rampart/eu/tickets") == .service(.tickets, eu))
        #expect(CallerIdentity(uri: "spiffe://rampart/operator/alice") == .operator("alice"))
        for bad in ["spiffe://other/eu/tickets", "spiffe://rampart/eu/tickets/x", "spiffe://rampart/eu/mailer", "spiffe://rampart/operator/Al!ce", "https://rampart/eu/tickets"] {
            #expect(CallerIdentity(uri: bad) == nil)
        }
    }
}
