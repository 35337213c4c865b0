import Foundation
import PostgresNIO
import RampartCore
import RampartSecurity
import RampartStorage
import Testing
@testable import Tickets

/// `make bench-tickets` measures seeded tickets, so they must be what the API writes: sealed
/// with each tenant's key, found by its search key, invisible to every other tenant.
@Suite("Tickets: the benchmark seeder writes what the API reads")
struct TicketsSeederTests {
    typealias H = TicketsHarness

    /// Seeds `tickets` for `tenant` as `rampart-bench tickets seed` does: the runtime role, the service's keyring.
    func seed(_ h: H, _ tickets: [TicketSeeder.Ticket], tenant: TenantID) async throws -> [UUID] {
        let keyring = try TenantKeyring.load(config: h.service.config)
        return try await h.database.with(try h.database.url(.tickets, owner: false)) { client in
            let seeder = TicketSeeder(database: Database(client: client, logger: TestDatabase.logger), keyring: keyring, region: H.region)
            return try await seeder.write(tickets, tenant: tenant)
        }
    }

    /// Twenty tickets of tenant `name`: each subject and opening message carries the tenant's own
    /// word, every third ticket has an internal note with `<name>secret`.
    func tickets(_ name: String, start: Date) -> [TicketSeeder.Ticket] {
        (0..<20).map { index in
            let opened = start.addingTimeInterval(Double(index) * 3_600)
            var messages = [TicketSeeder.Message(body: "Opening \(index) about \(name)printer and sharedword", kind: .reply,
                                                 authorType: "customer", author: "user:\(UUID().uuidString.lowercased())", createdAt: opened)]
            if index % 3 == 0 {
                messages.append(.init(body: "Note on \(name)secret", kind: .note, authorType: "agent", author: "user:\(UUID().uuidString.lowercased())",
                                      createdAt: opened.addingTimeInterval(60)))
            }
            return TicketSeeder.Ticket(subject: "\(name.capitalized) subject \(index)", status: index % 2 == 0 ? .open : .resolved,
                                       priority: .normal, messages: messages)
        }
    }

    @Test func seededTicketsOpenThroughTheAPIAreSearchableAndStayInTheirTenant() async throws {
        try await H.with { h in
            let names = ["alpha", "bravo", "charlie"]
            let tenants = names.map { H.Tenant.make($0) }
            let start = Date(timeIntervalSince1970: 1_780_000_000)
            var seeded: [[UUID]] = []
            for (name, tenant) in zip(names, tenants) {
                seeded.append(try await seed(h, tickets(name, start: start), tenant: tenant.id))
            }

            for (index, (name, tenant)) in zip(names, tenants).enumerated() {
                let admin = H.Actor.admin(tenant)
                // The list: exactly this tenant's 20, newest change first, subjects opened with its key.
                let list = try await h.send(admin, .GET, "/api/v1/tickets?limit=100")
                #expect(list.status == 200)
                #expect(list.list.compactMap { ($0["id"] as? String)?.lowercased() } == seeded[index].reversed().map { $0.uuidString.lowercased() })
                #expect(list.list.first?["subject"] as? String == "\(name.capitalized) subject 19")
                #expect(list.list.first?["status"] as? String == "resolved")

                // One ticket and its messages, note included for staff.
                let first = seeded[index][0].uuidString.lowercased()
                #expect(try await h.send(admin, .GET, "/api/v1/tickets/\(first)").data["subject"] as? String == "\(name.capitalized) subject 0")
                let bodies = try await h.send(admin, .GET, "/api/v1/tickets/\(first)/messages").list.compactMap { $0["body"] as? String }
                #expect(bodies == ["Opening 0 about \(name)printer and sharedword", "Note on \(name)secret"])

                // Search with the tenant's own key: its words, its notes (7 of 20 tickets), never another tenant's.
                func search(_ q: String) async throws -> Int {
                    let reply = try await h.send(admin, .GET, "/api/v1/search?q=\(q)&limit=100")
                    #expect(reply.status == 200)
                    return reply.list.count
                }
                #expect(try await search("\(name)printer") == 20)
                #expect(try await search("\(name)secret") == 7)
                #expect(try await search("subject 15") == 1)
                #expect(try await search("sharedword") == 20)
                for other in names where other != name {
                    #expect(try await search("\(other)printer") == 0)
                }

                // Another tenant's ids are not found, in either direction.
                let next = tenants[(index + 1) % tenants.count]
                #expect(try await h.send(H.Actor.admin(next), .GET, "/api/v1/tickets/\(first)").status == 404)
                #expect(try await h.send(H.Actor.admin(next), .GET, "/api/v1/tickets/\(first)/messages").status == 404)
            }

            // Nothing readable in the database: no subject or body word in any sealed column or token.
            let plaintext = try await h.asSuperuser { client in
                try await client.values(PostgresQuery(unsafeSQL: """
                    SELECT (SELECT count(*) FROM tickets.tickets WHERE position('subject'::bytea IN subject_sealed) > 0)
                         + (SELECT count(*) FROM tickets.messages WHERE position('printer'::bytea IN body_sealed) > 0)
                    """), as: Int.self)
            }
            #expect(plaintext == [0])
            let counts = try await h.asSuperuser { client in
                try await client.values(PostgresQuery(unsafeSQL: """
                    SELECT (SELECT count(*) FROM tickets.tickets) * 10000 + (SELECT count(*) FROM tickets.messages) * 10
                           + (SELECT count(DISTINCT tenant_id) FROM tickets.search_tokens)
                    """), as: Int.self)
            }
            #expect(counts == [60 * 10000 + 81 * 10 + 3])
        }
    }

    @Test func aTicketWithoutAMessageIsRefusedAndNothingIsWritten() async throws {
        try await H.with { h in
            let tenant = H.Tenant.make("delta")
            var batch = tickets("delta", start: Date())
            batch[5].messages = []
            await #expect(throws: TicketsError.self) { try await seed(h, batch, tenant: tenant.id) }
            let listed = try await h.send(H.Actor.admin(tenant), .GET, "/api/v1/tickets")
            #expect(listed.status == 200)
            #expect(listed.list.isEmpty)
        }
    }
}
