import Foundation
import PostgresNIO
import RampartCore
import RampartSecurity
import RampartStorage
import Testing
@testable import Tickets

@Suite("Tickets: API contract, bad input, versions, idempotency, paging, sealing, search, audit")
struct TicketsAPITests {
    typealias H = TicketsHarness
    let acme = H.Tenant.make("acme")

    @Test func createGetListAndMessagesFollowTheClientContract() async throws {
        try await H.with { h in
            let admin = H.Actor.admin(acme)
            let created = try await h.send(admin, .POST, "/api/v1/tickets", json: """
                {"subject": "VPN drops every hour", "message": {"body": "Since Monday.", "format": "text"}, "priority": "high",
                 "requester": {"email": "ana@customer.test"}}
                """)
            #expect(created.status == 201)
            #expect(created.data["subject"] as? String == "VPN drops every hour")
            #expect(created.data["status"] as? String == "new")
            #expect(created.data["priority"] as? String == "high")
            #expect((created.data["requester"] as? [String: Any])?["email"] as? String == "ana@customer.test")
            #expect(created.headers.first(name: "etag") == "\"1\"")
            let id = created.id

            let got = try await h.send(admin, .GET, "/api/v1/tickets/\(id)")
            #expect(got.status == 200)
            #expect(got.data["id"] as? String == id)
            #expect(got.headers.first(name: "etag") == "\"1\"")

            let list = try await h.send(admin, .GET, "/api/v1/tickets")
            #expect(list.status == 200)
            #expect(list.list.map { $0["id"] as? String } == [id])
            #expect((list.json["meta"] as? [String: Any])?["count"] as? Int == 1)
            #expect((list.json["links"] as? [String: Any]).map { $0["next"] is NSNull } == true)

            let reply = try await h.send(admin, .POST, "/api/v1/tickets/\(id)/messages", json: #"{"body": "<p>Try <b>this</b></p>", "format": "html", "kind": "reply"}"#)
            #expect(reply.status == 201)
            #expect(reply.data["kind"] as? String == "reply")
            #expect(reply.headers.first(name: "etag") == "\"2\"")
            let messages = try await h.send(admin, .GET, "/api/v1/tickets/\(id)/messages")
            #expect(messages.status == 200)
            #expect(messages.list.count == 2)
            for message in messages.list {
                for key in ["id", "kind", "body", "format", "author", "created_at"] { #expect(message[key] != nil, "\(key)") }
            }
            #expect(messages.list.map { $0["body"] as? String } == ["Since Monday.", "<p>Try <b>this</b></p>"])
            #expect(messages.list.map { $0["format"] as? String } == ["text", "html"])
            // HTML is sanitized before it is stored: what comes back cannot run.
            let hostile = try await h.send(admin, .POST, "/api/v1/tickets/\(id)/messages",
                                           json: #"{"body":"<img src=x onerror=alert(1)><b onclick=\"x()\">ok</b><script>alert(2)</script><a href=\"javascript:alert(3)\">l</a>","format":"html"}"#)
            #expect(hostile.data["body"] as? String == "<img><b>ok</b><a>l</a>")
            let stored = try await h.send(admin, .GET, "/api/v1/tickets/\(id)/messages").list.last?["body"] as? String
            #expect(stored == "<img><b>ok</b><a>l</a>")
        }
    }

    @Test func badInputGetsPreciseProblemsAndStoresNothing() async throws {
        try await H.with { h in
            let admin = H.Actor.admin(acme)
            let cases: [(String, String, Int, String, String?)] = [
                (#"{"subject":"a","message":{"body":"b"},"priorty":"high"}"#, "application/json", 400, "unknown_field", "priorty"),
                (#"{"subject":"a","message":{"body":"b","colour":"red"}}"#, "application/json", 400, "unknown_field", "message.colour"),
                (#"{"subject":5,"message":{"body":"b"}}"#, "application/json", 400, "malformed_body", "subject"),
                (#"{"subject":"a"}"#, "application/json", 422, "invalid_input", "message"),
                (#"{"subject":"a","message":{"body":"b"},"priority":"apocalyptic"}"#, "application/json", 422, "invalid_input", "priority"),
                (#"{"subject":"","message":{"body":"b"}}"#, "application/json", 422, "invalid_input", "subject"),
                (#"{"subject":"a","message":{"body":"   "}}"#, "application/json", 422, "invalid_input", "message.body"),
                (#"{"subject":"a","message":{"body":"b"},"department":"not-a-uuid"}"#, "application/json", 422, "invalid_input", "department"),
                (#"{"subject":"a","message":{"body":"b"},"department":"\#(UUID().uuidString)"}"#, "application/json", 422, "invalid_input", "department"),
                (#"{"subject":"a","message":{"body":"b"},"custom_fields":{"nope":1}}"#, "application/json", 422, "invalid_input", "custom_fields.nope"),
                (#"{"subject":"a","message":{"body":"\#(String(repeating: "x", count: 300_000))"}}"#, "application/json", 422, "invalid_input", "message.body"),
                (#"{"subject":"a","message":{"body":"\#(String(repeating: "x", count: 1_100_000))"}}"#, "application/json", 413, "body_too_large", nil),
                (#"{"subject": "a""#, "application/json", 400, "malformed_body", nil),
                ("subject=a", "application/x-www-form-urlencoded", 415, "unsupported_media_type", nil),
                // Only what the gateway's WAF reads as JSON is parsed as JSON: the exact type, UTF-8 without a byte-order mark.
                (#"{"subject":"a","message":{"body":"b"}}"#, "application/jsonx", 415, "unsupported_media_type", nil),
                ("\u{FEFF}" + #"{"subject":"a","message":{"body":"b"}}"#, "application/json", 400, "malformed_body", nil),
            ]
            for (body, type, status, code, field) in cases {
                let reply = try await h.send(admin, .POST, "/api/v1/tickets", json: body, contentType: type)
                #expect(reply.status == status, "\(body.prefix(80))")
                #expect(reply.code == code, "\(body.prefix(80))")
                #expect(reply.headers.first(name: "content-type") == "application/problem+json")
                if let field { #expect(reply.fields == [field], "\(body.prefix(80))") }
            }
            let counts = try await h.asSuperuser { client in
                try await client.values("SELECT (SELECT count(*) FROM tickets.tickets) + (SELECT count(*) FROM tickets.messages)", as: Int.self)
            }
            #expect(counts == [0])

            let id = try await h.ticket(admin)
            let closed = try await h.send(admin, .PATCH, "/api/v1/tickets/\(id)", json: #"{"status":"closed"}"#)
            #expect(closed.status == 200)
            let reopen = try await h.send(admin, .PATCH, "/api/v1/tickets/\(id)", json: #"{"status":"open"}"#)
            #expect(reopen.status == 422)
            #expect(reopen.code == "invalid_status_transition")
            let toNew = try await h.send(admin, .PATCH, "/api/v1/tickets/\(id)", json: #"{"status":"new"}"#)
            #expect(toNew.code == "invalid_status_transition")
            let replyToClosed = try await h.send(admin, .POST, "/api/v1/tickets/\(id)/messages", json: #"{"body":"hello?"}"#)
            #expect(replyToClosed.status == 409)
            #expect(replyToClosed.code == "ticket_closed")
            let badCursor = try await h.send(admin, .GET, "/api/v1/tickets?cursor=garbage")
            #expect(badCursor.status == 400)
            #expect(badCursor.code == "invalid_cursor")
            let unknownParameter = try await h.send(admin, .GET, "/api/v1/tickets?colour=red&limit=1000")
            #expect(unknownParameter.status == 422)
            #expect(Set(unknownParameter.fields) == ["colour", "limit"])
            let notAnID = try await h.send(admin, .GET, "/api/v1/tickets/42")
            #expect(notAnID.status == 404)
            #expect(notAnID.code == "ticket_not_found")
        }
    }

    @Test func aTicketAndItsFirstMessageAreCreatedTogetherOrNotAtAll() async throws {
        try await H.with { h in
            var admin = H.Actor.admin(acme)
            admin.subject = "user:00000000-0000-4000-8000-00000000b00b"
            // Make the message insert (after the ticket's) fail for this author only.
            try await h.asSuperuser { client in
                _ = try await client.query("ALTER TABLE tickets.messages ADD CONSTRAINT refuse_author CHECK (author_id <> 'user:00000000-0000-4000-8000-00000000b00b')")
            }
            let failed = try await h.send(admin, .POST, "/api/v1/tickets", json: #"{"subject":"half","message":{"body":"never stored"}}"#)
            #expect(failed.status == 500)
            #expect(failed.code == "internal_error")
            #expect(!String(decoding: failed.body, as: UTF8.self).contains("refuse_author"))
            let counts = try await h.asSuperuser { client in
                try await client.values("""
                    SELECT (SELECT count(*) FROM tickets.tickets) + (SELECT count(*) FROM tickets.search_tokens) + (SELECT count(*) FROM tickets.outbox_events)
                    """, as: Int.self)
            }
            #expect(counts == [0])
        }
    }

    @Test func aStaleIfMatchIs412AndOfTwoConcurrentWritersExactlyOneGets412() async throws {
        try await H.with { h in
            let agent = H.Actor.admin(acme)
            let id = try await h.ticket(agent)
            let stale = try await h.send(agent, .PATCH, "/api/v1/tickets/\(id)", json: #"{"priority":"low"}"#, headers: [("If-Match", "\"7\"")])
            #expect(stale.status == 412)
            #expect(stale.code == "version_mismatch")
            let etag = try #require(try await h.send(agent, .GET, "/api/v1/tickets/\(id)").headers.first(name: "etag"))
            for _ in 0..<3 {
                let current = try #require(try await h.send(agent, .GET, "/api/v1/tickets/\(id)").headers.first(name: "etag"))
                let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                    for priority in ["urgent", "low"] {
                        group.addTask {
                            try await h.send(agent, .PATCH, "/api/v1/tickets/\(id)", json: #"{"priority":"\#(priority)"}"#, headers: [("If-Match", current)]).status
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                #expect(statuses.sorted() == [200, 412])
            }
            let final = try await h.send(agent, .GET, "/api/v1/tickets/\(id)")
            #expect(final.data["version"] as? Int == 4)
            #expect(etag == "\"1\"")
            // The current version named weakly never matches (strong comparison); a list naming it does.
            let weak = try await h.send(agent, .PATCH, "/api/v1/tickets/\(id)", json: #"{"priority":"low"}"#, headers: [("If-Match", #"W/"4""#)])
            #expect(weak.status == 412)
            let listed = try await h.send(agent, .PATCH, "/api/v1/tickets/\(id)", json: #"{"priority":"low"}"#, headers: [("If-Match", #""3", "4""#)])
            #expect(listed.status == 200)
            #expect(listed.headers.first(name: "etag") == "\"5\"")
        }
    }

    @Test func anIdempotencyKeyReplaysTheSameCreateAndRefusesADifferentBody() async throws {
        try await H.with { h in
            let agent = H.Actor.admin(acme)
            let body = #"{"subject":"Once only","message":{"body":"please"}}"#
            let first = try await h.send(agent, .POST, "/api/v1/tickets", json: body, headers: [("Idempotency-Key", "k-123")])
            let second = try await h.send(agent, .POST, "/api/v1/tickets", json: body, headers: [("Idempotency-Key", "k-123")])
            #expect(first.status == 201)
            #expect(second.status == 201)
            #expect(second.id == first.id)
            #expect(second.headers.first(name: "idempotent-replayed") == "true")
            #expect(second.headers.first(name: "etag") == first.headers.first(name: "etag"))
            let other = try await h.send(agent, .POST, "/api/v1/tickets", json: #"{"subject":"Twice","message":{"body":"please"}}"#, headers: [("Idempotency-Key", "k-123")])
            #expect(other.status == 422)
            #expect(other.code == "idempotency_key_reused")
            // A failed create does not burn the key.
            let failed = try await h.send(agent, .POST, "/api/v1/tickets", json: #"{"subject":""}"#, headers: [("Idempotency-Key", "k-9")])
            #expect(failed.status == 422)
            let retried = try await h.send(agent, .POST, "/api/v1/tickets", json: body, headers: [("Idempotency-Key", "k-9")])
            #expect(retried.status == 201)
            // Keys belong to their principal.
            let someoneElse = try await h.send(H.Actor.admin(acme), .POST, "/api/v1/tickets", json: body, headers: [("Idempotency-Key", "k-123")])
            #expect(someoneElse.status == 201)
            #expect(someoneElse.id != first.id)
            let count = try await h.asSuperuser { try await $0.values("SELECT count(*) FROM tickets.tickets", as: Int.self) }
            #expect(count == [3])
        }
    }

    /// A request presumed dead (it held its key past `abandonAfter`) that was only slow: the
    /// request that took the key over keeps it, whether the slow one then succeeds or fails.
    @Test func aKeyTakenOverFromASlowRequestStaysWithTheRequestThatTookIt() async throws {
        try await H.with { h in
            let admin = H.Actor.admin(acme)
            _ = try await h.ticket(admin)
            let keyring = try TenantKeyring.load(config: h.service.config)
            try await h.database.with(try h.database.url(.tickets, owner: false)) { client in
                let store = TicketStore(database: Database(client: client, logger: TestDatabase.logger), keyring: keyring, region: H.region)
                let keys = IdempotencyStore(store: store)
                let caller = try Caller(Principal(tenantID: admin.tenant, tenantSlug: TenantSlug(rawValue: admin.slug)!, region: H.region, subject: admin.subject,
                                                  kind: admin.kind, roles: admin.roles, scopes: admin.scopes, authenticationMethod: .password,
                                                  sessionID: nil, csrfToken: nil))
                let request: [UInt8] = Array(#"{"subject":"Slow"}"#.utf8)
                @Sendable func answer(_ text: String) -> IdempotencyStore.Answer { .init(status: 201, etag: nil, body: Data(text.utf8)) }
                @Sendable func run(_ key: String, _ create: @Sendable () async throws -> IdempotencyStore.Answer) async throws -> String {
                    let (answer, _) = try await keys.run(caller, key: key, fingerprint: request, create)
                    return String(decoding: answer.body, as: UTF8.self)
                }
                /// What the clock does to a request still running: its claim looks abandoned.
                @Sendable func presumeDead(_ key: String) async throws {
                    try await h.asSuperuser { client in
                        _ = try await client.query("UPDATE tickets.idempotency_keys SET created_at = now() - interval '2 minutes' WHERE key = \(key)").collect()
                    }
                }
                struct Failed: Error {}

                // The slow request succeeds after its successor stored its answer: the successor's answer is the one replayed.
                let slow = try await run("k-slow") {
                    try await presumeDead("k-slow")
                    #expect(try await run("k-slow") { answer("successor") } == "successor")
                    return answer("slow")
                }
                #expect(slow == "slow")
                #expect(try await run("k-slow") { answer("third") } == "successor")

                // The slow request fails while its successor still runs: the key stays taken (409), not freed for a third.
                let (slowClaims, slowClaimed) = AsyncStream<Void>.makeStream()
                let (successorTakes, successorTook) = AsyncStream<Void>.makeStream()
                let (successorMayFinish, finish) = AsyncStream<Void>.makeStream()
                let slowFailing = Task {
                    try await run("k-fail") {
                        slowClaimed.yield()
                        for await _ in successorTakes { break }
                        throw Failed()
                    }
                }
                for await _ in slowClaims { break }
                try await presumeDead("k-fail")
                let successor = Task {
                    try await run("k-fail") {
                        successorTook.yield()
                        for await _ in successorMayFinish { break }
                        return answer("successor")
                    }
                }
                if case .failure(let error) = await slowFailing.result { #expect(error is Failed) } else { Issue.record("the slow request did not fail") }
                do {
                    Issue.record("a third request ran under the successor's key: \(try await run("k-fail") { answer("third") })")
                } catch TicketsError.idempotencyKeyInProgress {}
                finish.yield()
                #expect(try await successor.value == "successor")
                #expect(try await run("k-fail") { answer("fourth") } == "successor")
            }
        }
    }

    @Test func cursorPagingVisitsEveryTicketOnceWithFiltersAndSorts() async throws {
        try await H.with { h in
            let admin = H.Actor.admin(acme)
            var ids: [String] = []
            for index in 0..<7 {
                ids.append(try await h.ticket(admin, subject: "Ticket \(index)", extra: index % 2 == 0 ? #","labels":["billing"]"# : ""))
            }
            var seen: [String] = []
            var next: String? = "/api/v1/tickets?limit=3&sort=created_at"
            var pages = 0
            while let link = next {
                let page = try await h.send(admin, .GET, link)
                #expect(page.status == 200)
                seen += page.list.compactMap { $0["id"] as? String }
                next = (page.json["links"] as? [String: Any])?["next"] as? String
                pages += 1
            }
            #expect(seen == ids)
            #expect(pages == 3)
            let newest = try await h.send(admin, .GET, "/api/v1/tickets?sort=-created_at&limit=2")
            #expect(newest.list.compactMap { $0["id"] as? String } == [ids[6], ids[5]])
            let billing = try await h.send(admin, .GET, "/api/v1/tickets?label=billing&limit=100")
            #expect(Set(billing.list.compactMap { $0["id"] as? String }) == Set([ids[0], ids[2], ids[4], ids[6]]))
            let open = try await h.send(admin, .GET, "/api/v1/tickets?status=open,resolved")
            #expect(open.list.isEmpty)
            let future = try await h.send(admin, .GET, "/api/v1/tickets?updated_since=2099-01-01T00:00:00Z")
            #expect(future.list.isEmpty)
            // A cursor is bound to its sort.
            let firstPage = try await h.send(admin, .GET, "/api/v1/tickets?limit=1&sort=created_at")
            let link = try #require((firstPage.json["links"] as? [String: Any])?["next"] as? String)
            let cursor = try #require(URLComponents(string: link)?.queryItems?.first { $0.name == "cursor" }?.value)
            let mismatched = try await h.send(admin, .GET, "/api/v1/tickets?sort=-updated_at&cursor=\(cursor)")
            #expect(mismatched.code == "invalid_cursor")
        }
    }

    @Test func theRecycleBinHidesDeletedTicketsUntilRestored() async throws {
        try await H.with { h in
            let admin = H.Actor.admin(acme)
            let id = try await h.ticket(admin)
            #expect(try await h.send(admin, .DELETE, "/api/v1/tickets/\(id)").status == 204)
            #expect(try await h.send(admin, .GET, "/api/v1/tickets/\(id)").status == 404)
            #expect(try await h.send(admin, .GET, "/api/v1/tickets").list.isEmpty)
            let bin = try await h.send(admin, .GET, "/api/v1/tickets?deleted=true")
            #expect(bin.list.compactMap { $0["id"] as? String } == [id])
            #expect(bin.list.first?["deleted_at"] != nil)
            let restored = try await h.send(admin, .POST, "/api/v1/tickets/\(id)/restore")
            #expect(restored.status == 200)
            #expect(try await h.send(admin, .GET, "/api/v1/tickets/\(id)").status == 200)
            #expect(try await h.send(admin, .POST, "/api/v1/tickets/\(id)/restore").status == 404)
        }
    }

    @Test func noPlaintextSubjectBodyNoteOrFieldReachesTheDatabase() async throws {
        try await H.with { h in
            let admin = H.Actor.admin(acme)
            #expect(try await h.send(admin, .POST, "/api/v1/custom-fields", json: #"{"key":"serial","label":"Serial","type":"text"}"#).status == 201)
            let id = try await h.ticket(admin, subject: "zebrasubjectmarker outage", body: "quokkabodymarker in the <b>body</b>", extra: #","custom_fields":{"serial":"narwhalfieldmarker"}"#)
            let note = try await h.send(admin, .POST, "/api/v1/tickets/\(id)/messages", json: #"{"body":"axolotlnotemarker internal","kind":"note"}"#,
                                        headers: [("Idempotency-Key", "n-1")])
            #expect(note.status == 201)
            let got = try await h.send(admin, .GET, "/api/v1/tickets/\(id)")
            #expect((got.data["custom_fields"] as? [String: Any])?["serial"] as? String == "narwhalfieldmarker")
            let dump = try await h.asSuperuser { client in
                let tables = try await client.values("SELECT tablename::text FROM pg_tables WHERE schemaname = 'tickets'", as: String.self)
                var text = ""
                for table in tables {
                    // Every column of every row, bytea included, as text.
                    for row in try await client.values(PostgresQuery(unsafeSQL: "SELECT t::text FROM tickets.\"\(table)\" t"), as: String.self) { text += row }
                }
                return text
            }
            #expect(dump.contains(id.lowercased()))
            for marker in ["zebrasubjectmarker", "quokkabodymarker", "narwhalfieldmarker", "axolotlnotemarker"] {
                #expect(!dump.contains(marker), "\(marker)")
                #expect(!dump.contains(Data(marker.utf8).map { String(format: "%02x", $0) }.joined()), "\(marker) as bytea hex")
            }
        }
    }

    @Test func searchMatchesWordsOfSubjectsAndMessagesButCustomersNeverMatchNotes() async throws {
        try await H.with { h in
            let admin = H.Actor.admin(acme)
            let customer = H.Actor.customer(acme)
            let mine = try await h.ticket(customer, subject: "Invoice for März missing", body: "The café order 4471 has no invoice")
            _ = try await h.send(admin, .POST, "/api/v1/tickets/\(mine)/messages", json: #"{"body":"customer is on secretplan","kind":"note"}"#)
            let other = try await h.ticket(admin, subject: "Password reset loop", body: "Invoice page fine")
            func search(_ actor: H.Actor, _ q: String) async throws -> [String] {
                let reply = try await h.send(actor, .GET, "/api/v1/search?q=\(q.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? q)")
                #expect(reply.status == 200, "\(q)")
                return reply.list.compactMap { $0["id"] as? String }
            }
            #expect(Set(try await search(admin, "invoice")) == [mine, other])
            #expect(try await search(admin, "MARZ cafe") == [mine])
            #expect(try await search(admin, "invoice password") == [other])
            #expect(try await search(admin, "secretplan") == [mine])
            #expect(try await search(customer, "secretplan") == [])
            #expect(try await search(customer, "invoice") == [mine])
            #expect(try await search(admin, "invo") == [])
            let otherTenant = H.Actor.admin(H.Tenant.make("globex"))
            #expect(try await search(otherTenant, "invoice") == [])
            let empty = try await h.send(admin, .GET, "/api/v1/search?q=%20")
            #expect(empty.status == 422)
            #expect(empty.fields == ["q"])
        }
    }

    @Test func cardNumbersAreMaskedBeforeStorageAndTheRedactionIsAuditedWithoutTheNumber() async throws {
        try await H.with { h in
            let admin = H.Actor.admin(acme)
            #expect(try await h.send(admin, .POST, "/api/v1/custom-fields", json: #"{"key":"note","label":"Note","type":"text"}"#).status == 201)
            let created = try await h.send(admin, .POST, "/api/v1/tickets", json: """
                {"subject":"Charge on 4111 1111 1111 1111","message":{"body":"<p>Card 5555-5555-5555-4444, order 41111111111111111111</p>","format":"html"},
                 "custom_fields":{"note":"378282246310005"}}
                """)
            #expect(created.status == 201)
            #expect(created.data["subject"] as? String == "Charge on 4111 11** **** 1111")
            #expect((created.data["custom_fields"] as? [String: Any])?["note"] as? String == "378282*****0005")
            #expect((created.json["message"] as? [String: Any])?["body"] as? String == "<p>Card 5555-55**-****-4444, order 41111111111111111111</p>")
            let events = try await h.asSuperuser { client in
                try await client.values("SELECT event::text FROM tickets.outbox_events WHERE event->>'action' = 'ticket.card_number_redacted'", as: String.self)
            }
            #expect(events.count == 1)
            #expect(events.first?.contains(#""card_numbers": [null, "3"]"#) == true)
            let all = try await h.asSuperuser { try await $0.values("SELECT event::text FROM tickets.outbox_events", as: String.self) }.joined()
            for digits in ["4111111111111111", "1111 1111 1111", "5555-5555", "378282246310005"] { #expect(!all.contains(digits)) }
            // Per tenant: keep only the last four.
            #expect(try await h.send(admin, .PATCH, "/api/v1/tickets/settings", json: #"{"card_keep_first":0}"#).status == 200)
            let strict = try await h.send(admin, .POST, "/api/v1/tickets", json: #"{"subject":"x","message":{"body":"4111111111111111"}}"#)
            #expect((strict.json["message"] as? [String: Any])?["body"] as? String == "************1111")
        }
    }

    @Test func creationRepliesNotesAssignmentStatusAndDeletionAreAuditEvents() async throws {
        try await H.with { h in
            let admin = H.Actor.admin(acme)
            let agent = UUID()
            let id = try await h.ticket(admin)
            _ = try await h.send(admin, .POST, "/api/v1/tickets/\(id)/messages", json: #"{"body":"hi"}"#)
            _ = try await h.send(admin, .POST, "/api/v1/tickets/\(id)/messages", json: #"{"body":"psst","kind":"note"}"#)
            #expect(try await h.send(admin, .PATCH, "/api/v1/tickets/\(id)", json: #"{"assignee_id":"\#(agent)","status":"resolved"}"#).status == 200)
            #expect(try await h.send(admin, .DELETE, "/api/v1/tickets/\(id)").status == 204)
            let events = try await h.asSuperuser { client in
                try await client.values("SELECT event->>'action' FROM tickets.outbox_events WHERE event->'resource'->>'id' = \(id.lowercased()) ORDER BY occurred_at, id", as: String.self)
            }
            #expect(events == ["ticket.created", "ticket.replied", "ticket.status_changed", "ticket.note_added", "ticket.status_changed", "ticket.assigned", "ticket.deleted"])
            let tenants = try await h.asSuperuser { try await $0.values("SELECT DISTINCT tenant_id FROM tickets.outbox_events", as: UUID.self) }
            #expect(tenants == [acme.id.rawValue])
        }
    }

    @Test func repliesMoveTheStatusAndTheDepartmentSLASetsDueTimes() async throws {
        try await H.with { h in
            let admin = H.Actor.admin(acme)
            let department = try await h.send(admin, .POST, "/api/v1/departments", json: #"{"name":"Billing","first_response_minutes":60,"resolution_minutes":480}"#)
            #expect(department.status == 201)
            let customer = H.Actor.customer(acme)
            let id = try await h.ticket(customer, extra: #","department":"\#(department.id)""#)
            let ticket = try await h.send(admin, .GET, "/api/v1/tickets/\(id)").data
            let created = try #require((ticket["created_at"] as? String).flatMap(Timestamp.parse))
            let due = try #require((ticket["first_response_due_at"] as? String).flatMap(Timestamp.parse))
            let resolution = try #require((ticket["resolution_due_at"] as? String).flatMap(Timestamp.parse))
            #expect(abs(due.timeIntervalSince(created) - 3600) < 1)
            #expect(abs(resolution.timeIntervalSince(created) - 8 * 3600) < 1)
            _ = try await h.send(admin, .PATCH, "/api/v1/tickets/\(id)", json: #"{"status":"open"}"#)
            _ = try await h.send(admin, .POST, "/api/v1/tickets/\(id)/messages", json: #"{"body":"Which invoice?"}"#)
            let answered = try await h.send(admin, .GET, "/api/v1/tickets/\(id)").data
            #expect(answered["status"] as? String == "awaiting_customer")
            #expect(answered["first_responded_at"] != nil)
            _ = try await h.send(customer, .POST, "/api/v1/tickets/\(id)/messages", json: #"{"body":"The March one."}"#)
            #expect(try await h.send(admin, .GET, "/api/v1/tickets/\(id)").data["status"] as? String == "awaiting_agent")
        }
    }
}
