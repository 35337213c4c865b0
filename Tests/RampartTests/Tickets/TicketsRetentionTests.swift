import Foundation
import PostgresNIO
import RampartCore
import RampartSecurity
import RampartStorage
import Testing
@testable import Tickets

@Suite("Tickets: retention — the recycle bin empties itself, closed tickets go when the tenant says so")
struct TicketsRetentionTests {
    typealias H = TicketsHarness

    /// Moves a ticket's deletion or last change back by `days`, as time would.
    func age(_ h: H, _ id: String, column: String, days: Int) async throws {
        try await h.asSuperuser { client in
            _ = try await client.query(PostgresQuery(unsafeSQL: "UPDATE tickets.tickets SET \(column) = now() - interval '\(days) days' WHERE id = '\(id)'")).collect()
        }
    }

    func strings(_ h: H, _ sql: String) async throws -> [String] {
        try await h.asSuperuser { client in try await client.values(PostgresQuery(unsafeSQL: sql), as: String.self) }
    }

    func count(_ h: H, _ sql: String) async throws -> Int {
        try await h.asSuperuser { client in try await client.values(PostgresQuery(unsafeSQL: sql), as: Int.self) }.first ?? -1
    }

    /// One retention run over `tenant`, as the service's sweeper does it.
    func sweep(_ h: H, _ tenant: TenantID) async throws -> RetentionSweeper.Swept {
        let keyring = try TenantKeyring.load(config: h.service.config)
        return try await h.database.with(try h.database.url(.tickets, owner: false)) { client in
            let store = TicketStore(database: Database(client: client, logger: TestDatabase.logger), keyring: keyring, region: H.region)
            return try await RetentionSweeper(store: store, logger: TestDatabase.logger).sweep(tenant)
        }
    }

    @Test func theSweepDeletesOnlyWhatEachTenantsSettingsAllowAndRecordsIt() async throws {
        try await H.with { h in
            let acme = H.Tenant.make("acme"), globex = H.Tenant.make("globex")
            let acmeAdmin = H.Actor.admin(acme), globexAdmin = H.Actor.admin(globex)

            // Settings: acme deletes closed tickets after 90 days; globex keeps its recycle bin 60 days.
            let invalid = try await h.send(acmeAdmin, .PATCH, "/api/v1/tickets/settings", json: #"{"closed_ticket_days":7}"#)
            #expect(invalid.status == 422)
            #expect(invalid.fields == ["closed_ticket_days"])
            let acmeSettings = try await h.send(acmeAdmin, .PATCH, "/api/v1/tickets/settings", json: #"{"closed_ticket_days":90}"#)
            #expect(acmeSettings.data["closed_ticket_days"] as? Int == 90)
            #expect(acmeSettings.data["recycle_bin_days"] as? Int == 30)
            #expect(try await h.send(globexAdmin, .PATCH, "/api/v1/tickets/settings", json: #"{"recycle_bin_days":60}"#).status == 200)

            // acme: one ticket deleted 31 days ago, one deleted yesterday, one closed 91 days ago, one closed 10 days ago, one open and old.
            let binnedLongAgo = try await h.ticket(acmeAdmin), binnedRecently = try await h.ticket(acmeAdmin)
            let closedLongAgo = try await h.ticket(acmeAdmin), closedRecently = try await h.ticket(acmeAdmin), openOld = try await h.ticket(acmeAdmin)
            for id in [binnedLongAgo, binnedRecently] { #expect(try await h.send(acmeAdmin, .DELETE, "/api/v1/tickets/\(id)").status == 204) }
            for id in [closedLongAgo, closedRecently] {
                #expect(try await h.send(acmeAdmin, .PATCH, "/api/v1/tickets/\(id)", json: #"{"status":"closed"}"#).status == 200)
            }
            try await age(h, binnedLongAgo, column: "deleted_at", days: 31)
            try await age(h, binnedRecently, column: "deleted_at", days: 1)
            try await age(h, closedLongAgo, column: "updated_at", days: 91)
            try await age(h, closedRecently, column: "updated_at", days: 10)
            try await age(h, openOld, column: "updated_at", days: 400)
            // globex: deleted 31 days ago, but its bin keeps 60 days; closed long ago, but it keeps closed tickets.
            let globexBinned = try await h.ticket(globexAdmin), globexClosed = try await h.ticket(globexAdmin)
            #expect(try await h.send(globexAdmin, .DELETE, "/api/v1/tickets/\(globexBinned)").status == 204)
            #expect(try await h.send(globexAdmin, .PATCH, "/api/v1/tickets/\(globexClosed)", json: #"{"status":"closed"}"#).status == 200)
            try await age(h, globexBinned, column: "deleted_at", days: 31)
            try await age(h, globexClosed, column: "updated_at", days: 500)

            let swept = try await sweep(h, acme.id)
            #expect(swept == .init(fromRecycleBin: 1, closed: 1, expiredUploads: 0))
            let remaining = try await strings(h, "SELECT id::text FROM tickets.tickets WHERE tenant_id = '\(acme.id)' ORDER BY id")
            #expect(Set(remaining) == Set([binnedRecently, closedRecently, openOld].map { $0.lowercased() }))
            // Their messages and search entries went with them.
            #expect(try await count(h, "SELECT count(*)::int FROM tickets.messages WHERE ticket_id IN ('\(binnedLongAgo)', '\(closedLongAgo)')") == 0)
            #expect(try await count(h, "SELECT count(*)::int FROM tickets.search_tokens WHERE ticket_id IN ('\(binnedLongAgo)', '\(closedLongAgo)')") == 0)
            // One audit event with the counts, in acme's outbox.
            let events = try await strings(h, """
                SELECT (event->'changes'->'recycle_bin_deleted'->>1) || '/' || (event->'changes'->'closed_deleted'->>1) FROM tickets.outbox_events
                WHERE tenant_id = '\(acme.id)' AND event->>'action' = 'tickets.retention_applied'
                """)
            #expect(events == ["1/1"])
            #expect(try await strings(h, """
                SELECT event->'changes'->'expired_uploads_deleted'->>1 FROM tickets.outbox_events WHERE event->>'action' = 'tickets.retention_applied'
                """) == ["0"])

            // globex's settings keep both of its tickets.
            let globexSwept = try await sweep(h, globex.id)
            #expect(globexSwept == .init(fromRecycleBin: 0, closed: 0, expiredUploads: 0))
            #expect(try await count(h, "SELECT count(*)::int FROM tickets.tickets WHERE tenant_id = '\(globex.id)'") == 2)
            #expect(try await count(h, "SELECT count(*)::int FROM tickets.outbox_events WHERE tenant_id = '\(globex.id)' AND event->>'action' = 'tickets.retention_applied'") == 0)
        }
    }

    @Test func uploadsNeverSentExpireAfterADayAndAreSwept() async throws {
        try await H.with { h in
            let acme = H.Tenant.make("acme")
            let customer = H.Actor.customer(acme)
            let ticket = try await h.ticket(customer)
            var ids: [String] = []
            for target in [nil, ticket, nil, nil] as [String?] {
                let reply = try await h.send(customer, .POST, "/api/v1/attachments", body: TicketsAttachmentTests.form(ticket: target, filename: "a.txt", content: Data("a log".utf8)),
                                             contentType: "multipart/form-data; boundary=\(TicketsAttachmentTests.boundary)")
                #expect(reply.status == 201)
                ids.append(reply.id)
            }
            let (orphan, unsentOnTicket, sent, fresh) = (ids[0], ids[1], ids[2], ids[3])
            #expect(try await h.send(customer, .POST, "/api/v1/tickets/\(ticket)/messages", json: #"{"body":"log","attachment_ids":["\#(sent)"]}"#).status == 201)
            try await h.asSuperuser { client in
                _ = try await client.query(PostgresQuery(unsafeSQL: """
                    UPDATE tickets.attachments SET created_at = now() - interval '25 hours' WHERE id IN ('\(orphan)', '\(unsentOnTicket)', '\(sent)')
                    """)).collect()
            }
            let swept = try await sweep(h, acme.id)
            #expect(swept == .init(fromRecycleBin: 0, closed: 0, expiredUploads: 2))
            let remaining = try await strings(h, "SELECT id::text FROM tickets.attachments")
            #expect(Set(remaining) == Set([sent, fresh].map { $0.lowercased() }))
            #expect(try await strings(h, """
                SELECT event->'changes'->'expired_uploads_deleted'->>1 FROM tickets.outbox_events WHERE event->>'action' = 'tickets.retention_applied'
                """) == ["2"])
            #expect(try await sweep(h, acme.id) == .init(fromRecycleBin: 0, closed: 0, expiredUploads: 0))
        }
    }
}
