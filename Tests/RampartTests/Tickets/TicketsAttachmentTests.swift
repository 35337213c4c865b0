import Foundation
import Testing
@testable import Tickets

@Suite("Tickets: attachments — sniffed, limited, sealed, downloaded safely, visible like their message")
struct TicketsAttachmentTests {
    typealias H = TicketsHarness
    let acme = H.Tenant.make("acme")
    static let boundary = "rampartBoundary7MA4YWxkTrZu0gW"
    static let png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + Array(repeating: 0x42, count: 200))

    /// A multipart body with `ticket_id` and one file.
    static func form(ticket: String, filename: String, content: Data, extra: String = "") -> Data {
        var body = Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"ticket_id\"\r\n\r\n\(ticket)\r\n".utf8)
        body += Data(extra.utf8)
        body += Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(filename)\"\r\nContent-Type: application/octet-stream\r\n\r\n".utf8)
        body += content
        body += Data("\r\n--\(boundary)--\r\n".utf8)
        return body
    }

    func upload(_ h: H, _ actor: H.Actor, ticket: String, filename: String = "screenshot.png", content: Data = png, extra: String = "") async throws -> H.Reply {
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
            #expect(stored.count == 1)
            #expect(stored.first?.range(of: Self.png.prefix(64)) == nil)
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
}
