import Foundation
import Testing
@testable import Tickets

@Suite("Tickets: attachments — sniffed, limited, sealed, downloaded safely, visible like their message")
struct TicketsAttachmentTests {
    typealias H = TicketsHarness
    let acme = H.Tenant.make("acme")
    static let boundary = "rampartBoundary7MA4YWxkTrZu0gW"
    static let png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + Array(repeating: 0x42, count: 200))

    /// A multipart body with `ticket_id` (unless nil) and one file.
    static func form(ticket: String?, filename: String, content: Data, extra: String = "") -> Data {
        var body = Data(ticket.map { "--\(boundary)\r\nContent-Disposition: form-data; name=\"ticket_id\"\r\n\r\n\($0)\r\n" }?.utf8 ?? "".utf8)
        body += Data(extra.utf8)
        body += Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(filename)\"\r\nContent-Type: application/octet-stream\r\n\r\n".utf8)
        body += content
        body += Data("\r\n--\(boundary)--\r\n".utf8)
        return body
    }

    func upload(_ h: H, _ actor: H.Actor, ticket: String?, filename: String = "screenshot.png", content: Data = png, extra: String = "") async throws -> H.Reply {
        try await h.send(actor, .POST, "/api/v1/attachments", body: Self.form(ticket: ticket, filename: filename, content: content, extra: extra),
                         contentType: "multipart/form-data; boundary=\(Self.boundary)")
    }

    @Test func anUploadIsSniffedSealedLinkedToAReplyAndDownloadedAsAnAttachment() async throws {
        try await H.with { h in
            let customer = H.Actor.customer(acme)
            let ticket = try await h.ticket(customer)
            let uploaded = try await upload(h, customer, ticket: ticket, filename: "../../Screen shot <1>.exe")
            #expect(uploaded.status == 201)
            #expect(uploaded.data["content_type"] as? String == "image/png")
            #expect(uploaded.data["filename"] as? String == "Screen shot 1.png")
            let reply = try await h.send(customer, .POST, "/api/v1/tickets/\(ticket)/messages", json: #"{"body":"see attached","attachment_ids":["\#(uploaded.id)"]}"#)
            #expect(reply.status == 201)
            #expect((reply.data["attachments"] as? [[String: Any]])?.first?["id"] as? String == uploaded.id)
            // Used once only.
            let again = try await h.send(customer, .POST, "/api/v1/tickets/\(ticket)/messages", json: #"{"body":"again","attachment_ids":["\#(uploaded.id)"]}"#)
            #expect(again.status == 422)
            // Files with no words: a message of its own, read back by its author and by staff.
            let second = try await upload(h, customer, ticket: ticket)
            let filesOnly = try await h.send(customer, .POST, "/api/v1/tickets/\(ticket)/messages", json: #"{"body":"","attachment_ids":["\#(second.id)"]}"#)
            #expect(filesOnly.status == 201)
            for reader in [customer, H.Actor.admin(acme)] {
                let listed = try await h.send(reader, .GET, "/api/v1/tickets/\(ticket)/messages")
                #expect(listed.status == 200, "\(listed.json)")
                let attachments = (listed.list.last?["attachments"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
                #expect(attachments == [second.id])
            }

            let download = try await h.send(H.Actor.admin(acme), .GET, "/api/v1/attachments/\(uploaded.id)")
            #expect(download.status == 200)
            #expect(download.body == Self.png)
            #expect(download.headers.first(name: "content-type") == "image/png")
            #expect(download.headers.first(name: "x-content-type-options") == "nosniff")
            #expect(download.headers.first(name: "content-disposition")?.hasPrefix("attachment; filename=\"Screen shot 1.png\"") == true)
            #expect(try await h.send(customer, .GET, "/api/v1/attachments/\(uploaded.id)").status == 200)

            let stored = try await h.asSuperuser { client in
                try await client.values("SELECT content_sealed FROM tickets.attachments", as: Data.self)
            }
            #expect(stored.count == 2)
            #expect(stored.allSatisfy { $0.range(of: Self.png.prefix(64)) == nil })
        }
    }

    @Test func typesSizesAndVisibilityAreEnforced() async throws {
        try await H.with { h in
            let admin = H.Actor.admin(acme)
            let customer = H.Actor.customer(acme)
            let ticket = try await h.ticket(customer)
            let html = try await upload(h, customer, ticket: ticket, filename: "invoice.pdf", content: Data("<html><script>alert(1)</script>".utf8))
            #expect(html.status == 415)
            #expect(html.code == "attachment_type_not_allowed")
            let exe = try await upload(h, customer, ticket: ticket, filename: "a.png", content: Data([0x4D, 0x5A, 0x90, 0x00, 0x03]))
            #expect(exe.status == 415)
            #expect(try await h.send(admin, .PATCH, "/api/v1/tickets/settings", json: #"{"attachment_max_bytes":1024}"#).status == 200)
            let big = try await upload(h, customer, ticket: ticket, content: Self.png + Data(repeating: 0, count: 2000))
            #expect(big.status == 413)
            #expect(big.code == "attachment_too_large")
            let unknownField = try await upload(h, customer, ticket: ticket, extra: "--\(Self.boundary)\r\nContent-Disposition: form-data; name=\"colour\"\r\n\r\nred\r\n")
            #expect(unknownField.status == 400)
            #expect(unknownField.code == "unknown_field")
            let noTicket = try await upload(h, customer, ticket: "not-an-id")
            #expect(noTicket.status == 422)
            #expect(noTicket.fields == ["ticket_id"])
            let json = try await h.send(customer, .POST, "/api/v1/attachments", json: "{}")
            #expect(json.status == 415)

            // A note's attachment and an unsent upload of staff are not the customer's to see.
            let staffFile = try await upload(h, admin, ticket: ticket)
            #expect(try await h.send(customer, .GET, "/api/v1/attachments/\(staffFile.id)").status == 404)
            #expect(try await h.send(admin, .POST, "/api/v1/tickets/\(ticket)/messages", json: #"{"body":"internal","kind":"note","attachment_ids":["\#(staffFile.id)"]}"#).status == 201)
            #expect(try await h.send(customer, .GET, "/api/v1/attachments/\(staffFile.id)").status == 404)
            #expect(try await h.send(admin, .GET, "/api/v1/attachments/\(staffFile.id)").status == 200)
            // Someone else's upload cannot be attached.
            let customerFile = try await upload(h, customer, ticket: ticket)
            let stolen = try await h.send(admin, .POST, "/api/v1/tickets/\(ticket)/messages", json: #"{"body":"mine now","attachment_ids":["\#(customerFile.id)"]}"#)
            #expect(stolen.status == 422)
            #expect(stolen.fields == ["attachment_ids"])
            let stranger = H.Actor.customer(acme)
            #expect(try await upload(h, stranger, ticket: ticket).status == 404)
            #expect(try await h.send(stranger, .GET, "/api/v1/attachments/\(customerFile.id)").status == 404)
        }
    }

    @Test func filesUploadedBeforeTheTicketGoOnItsFirstMessage() async throws {
        try await H.with { h in
            let customer = H.Actor.customer(acme), admin = H.Actor.admin(acme)
            let uploaded = try await upload(h, customer, ticket: nil, filename: "receipt.pdf", content: Data("%PDF-1.7\n1 0 obj".utf8))
            #expect(uploaded.status == 201)
            #expect(uploaded.data["ticket_id"] == nil)
            let expires = try #require(uploaded.time("expires_at"))
            let created = try #require(uploaded.time("created_at"))
            #expect(abs(expires.timeIntervalSince(created) - AttachmentRepository.unsentLifetime) < 1)
            // Until it is sent, it is its uploader's alone: not staff's, not another customer's.
            #expect(try await h.send(customer, .GET, "/api/v1/attachments/\(uploaded.id)").status == 200)
            #expect(try await h.send(admin, .GET, "/api/v1/attachments/\(uploaded.id)").status == 404)
            #expect(try await h.send(H.Actor.customer(acme), .GET, "/api/v1/attachments/\(uploaded.id)").status == 404)

            let created201 = try await h.send(customer, .POST, "/api/v1/tickets",
                                              json: #"{"subject":"Refund","message":{"body":"receipt attached","attachment_ids":["\#(uploaded.id)"]}}"#)
            #expect(created201.status == 201)
            let message = try #require(created201.json["message"] as? [String: Any])
            #expect((message["attachments"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [uploaded.id])
            let listed = try await h.send(admin, .GET, "/api/v1/tickets/\(created201.id)/messages").list.first
            #expect((listed?["attachments"] as? [[String: Any]])?.first?["content_type"] as? String == "application/pdf")
            let download = try await h.send(admin, .GET, "/api/v1/attachments/\(uploaded.id)")
            #expect(download.status == 200)
            #expect(download.body == Data("%PDF-1.7\n1 0 obj".utf8))
            // Sent once only.
            let again = try await h.send(customer, .POST, "/api/v1/tickets", json: #"{"subject":"Again","message":{"body":"b","attachment_ids":["\#(uploaded.id)"]}}"#)
            #expect(again.status == 422)
            #expect(again.fields == ["message.attachment_ids"])

            // A reply may also take an upload made without a ticket.
            let loose = try await upload(h, customer, ticket: nil)
            #expect(try await h.send(customer, .POST, "/api/v1/tickets/\(created201.id)/messages", json: #"{"body":"one more","attachment_ids":["\#(loose.id)"]}"#).status == 201)
        }
    }

    @Test func anotherUsersOrTenantsOrAnExpiredUploadIsTheSameErrorAsAnUnknownOneAndNothingIsCreated() async throws {
        try await H.with { h in
            let customer = H.Actor.customer(acme), admin = H.Actor.admin(acme)
            let globex = H.Actor.customer(H.Tenant.make("globex"))
            let staffUpload = try await upload(h, admin, ticket: nil).id
            let foreignUpload = try await upload(h, globex, ticket: nil).id
            let expired = try await upload(h, customer, ticket: nil).id
            try await h.asSuperuser { client in
                _ = try await client.query("UPDATE tickets.attachments SET created_at = now() - interval '25 hours' WHERE id = \(UUID(uuidString: expired)!)").collect()
            }
            let before = try await h.asSuperuser { try await $0.values("SELECT count(*)::integer FROM tickets.tickets", as: Int.self) }
            var answers: Set<String> = []
            for id in [staffUpload, foreignUpload, expired, UUID().uuidString.lowercased()] {
                let reply = try await h.send(customer, .POST, "/api/v1/tickets", json: #"{"subject":"s","message":{"body":"b","attachment_ids":["\#(id)"]}}"#)
                #expect(reply.status == 422)
                #expect(reply.fields == ["message.attachment_ids"])
                let messages = (reply.json["errors"] as? [[String: Any]])?.compactMap { $0["message"] as? String } ?? []
                answers.insert("\(reply.code ?? "") \(reply.json["detail"] ?? "") \(messages)")
            }
            #expect(answers.count == 1)
            // The staff upload is still unsent and usable by its uploader; nothing half-made stayed behind.
            let after = try await h.asSuperuser { try await $0.values("SELECT count(*)::integer FROM tickets.tickets", as: Int.self) }
            #expect(after == before)
            #expect(try await h.send(admin, .POST, "/api/v1/tickets", json: #"{"subject":"s","message":{"body":"b","attachment_ids":["\#(staffUpload)"]}}"#).status == 201)
            // Another tenant's uploader cannot reach acme's files either.
            #expect(try await h.send(globex, .GET, "/api/v1/attachments/\(staffUpload)").status == 404)
        }
    }

    @Test func oneUploaderHoldsAtMostFiftyUnsentUploads() async throws {
        try await H.with { h in
            let customer = H.Actor.customer(acme)
            for index in 0..<AttachmentRepository.maximumUnsent {
                #expect(try await upload(h, customer, ticket: nil, filename: "f\(index).png").status == 201)
            }
            let refused = try await upload(h, customer, ticket: nil)
            #expect(refused.status == 409)
            #expect(refused.code == "too_many_unsent_attachments")
            // Others are not held back by this uploader.
            #expect(try await upload(h, H.Actor.customer(acme), ticket: nil).status == 201)
        }
    }
}
