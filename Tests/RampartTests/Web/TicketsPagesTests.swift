import Foundation
import NIOHTTP1
import RampartCore
import RampartSecurity
@testable import Tickets
import Testing

/// The agent console and the customer portal against the real service and database, called as
/// the gateway with browser-session principals (their CSRF token signed in, as identity does).
@Suite("Web: agent console and customer portal")
struct TicketsPagesTests {
    typealias Actor = TicketsHarness.Actor
    static let tenant = TicketsHarness.Tenant.make("acme")
    static let xss = #"<script>window.pwned=1</script><img src=x onerror="window.pwned=2">"#

    /// A multipart body of text fields and files, as a browser posts it.
    static func multipart(_ fields: [(String, String)], files: [(String, [UInt8])] = []) -> (body: Data, contentType: String) {
        let boundary = "----rampart\(UUID().uuidString.prefix(8))"
        var body = Data()
        for (name, value) in fields {
            body += Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
        }
        for (filename, content) in files {
            body += Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"files\"; filename=\"\(filename)\"\r\nContent-Type: application/octet-stream\r\n\r\n".utf8)
            body += Data(content) + Data("\r\n".utf8)
        }
        body += Data("--\(boundary)--\r\n".utf8)
        return (body, "multipart/form-data; boundary=\(boundary)")
    }

    static func form(_ fields: [(String, String)]) -> Data {
        Data(fields.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(separator: "&").utf8)
    }

    static let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + Array(repeating: 0, count: 64)

    func page(_ harness: TicketsHarness, _ actor: Actor?, _ path: String) async throws -> (status: Int, html: String, headers: HTTPHeaders) {
        let reply = try await harness.send(actor, .GET, path, contentType: "text/html")
        return (reply.status, String(decoding: reply.body, as: UTF8.self), reply.headers)
    }

    func post(_ harness: TicketsHarness, _ actor: Actor, _ path: String, _ fields: [(String, String)], files: [(String, [UInt8])] = [],
              multipart: Bool = true) async throws -> (status: Int, html: String, location: String?) {
        let reply: TicketsHarness.Reply
        if multipart {
            let (body, type) = Self.multipart(fields, files: files)
            reply = try await harness.send(actor, .POST, path, body: body, contentType: type)
        } else {
            reply = try await harness.send(actor, .POST, path, body: Self.form(fields), contentType: "application/x-www-form-urlencoded")
        }
        return (reply.status, String(decoding: reply.body, as: UTF8.self), reply.headers.first(name: "location"))
    }

    static func assertPageHeaders(_ headers: HTTPHeaders) {
        #expect(headers.first(name: "content-security-policy")
            == "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
        #expect(headers.first(name: "cache-control") == "no-store")
        #expect(headers.first(name: "content-type") == "text/html; charset=utf-8")
        #expect(headers.first(name: "referrer-policy") == "same-origin")
    }

    @Test func theAgentWorksATicketEndToEnd() async throws {
        try await TicketsHarness.with { harness in
            let agent = Actor.admin(Self.tenant).inBrowser()
            let customer = Actor.customer(Self.tenant).inBrowser()
            let id = try await harness.ticket(customer, subject: "Printer offline", body: "Nothing prints since Monday.").lowercased()

            let list = try await page(harness, agent, "/agent/tickets?view=unassigned")
            #expect(list.status == 200)
            Self.assertPageHeaders(list.headers)
            #expect(list.html.contains("Printer offline") && list.html.contains(#"href="/agent/tickets/\#(id)""#))
            #expect(list.html.contains(#"<script src="/assets/rampart.js?v="#), "the console loads its shortcuts")
            #expect(list.html.contains("Keyboard shortcuts"))
            let mine = try await page(harness, agent, "/agent/tickets?view=mine")
            #expect(!mine.html.contains("Printer offline"), "nobody's ticket is not mine")

            let reply = try await post(harness, agent, "/agent/messages/\(id)?kind=reply", [("csrf_token", agent.csrfToken ?? ""), ("body", "Restart it, please.")])
            #expect(reply.status == 303)
            #expect(reply.location?.hasPrefix("/agent/tickets/\(id)?done=replied#message-") == true)
            let note = try await post(harness, agent, "/agent/messages/\(id)?kind=note", [("csrf_token", agent.csrfToken ?? ""), ("body", "Customer sounds annoyed.")],
                                      files: [("screen.png", Self.png)])
            #expect(note.status == 303)
            let me = try #require(agent.userID).uuidString.lowercased()
            let opened = try await page(harness, agent, "/agent/tickets/\(id)")
            let version = try #require(IdentityPagesTests.field("version", in: opened.html))
            let change = try await post(harness, agent, "/agent/tickets/\(id)", [
                ("csrf_token", agent.csrfToken ?? ""), ("version", version), ("status", "open"), ("priority", "high"), ("assignee", me), ("labels", "printer, Hardware"),
            ], multipart: false)
            #expect(change.status == 303, "\(change.html)")

            let ticket = try await page(harness, agent, "/agent/tickets/\(id)?done=saved")
            #expect(ticket.status == 200)
            Self.assertPageHeaders(ticket.headers)
            #expect(ticket.html.contains("Changes saved."))
            #expect(ticket.html.contains("Restart it, please.") && ticket.html.contains("Customer sounds annoyed."))
            // Notes are marked in words and by style, not by colour alone.
            #expect(ticket.html.contains(#"<li class="message note""#) && ticket.html.contains("Internal note"))
            #expect(ticket.html.contains(#"<option value="open" selected>Open</option>"#))
            #expect(ticket.html.contains(#"<option value="\#(me)" selected>Me</option>"#))
            #expect(ticket.html.contains("hardware, printer"))
            let attachment = try #require(ticket.html.range(of: #"href="/agent/attachments/"#).map { String(ticket.html[$0.upperBound...].prefix { $0 != "\"" }) })
            let download = try await harness.send(agent, .GET, "/agent/attachments/\(attachment)")
            #expect(download.status == 200 && download.body == Data(Self.png))
            #expect(download.headers.first(name: "content-disposition")?.hasPrefix("attachment") == true)

            let api = try await harness.send(agent, .GET, "/api/v1/tickets/\(id)")
            #expect(api.data["status"] as? String == "open" && api.data["priority"] as? String == "high" && (api.data["assignee_id"] as? String)?.lowercased() == me)
            let nowMine = try await page(harness, agent, "/agent/tickets?view=mine")
            #expect(nowMine.html.contains("Printer offline"))
            let search = try await page(harness, agent, "/agent/tickets?view=all&q=annoyed")
            #expect(search.html.contains("Printer offline"), "staff search finds note words")

            // The same form with a version someone else has moved on: nothing changes, the choice is kept.
            let stale = try await post(harness, agent, "/agent/tickets/\(id)", [("csrf_token", agent.csrfToken ?? ""), ("version", version), ("priority", "low")],
                                       multipart: false)
            #expect(stale.status == 409)
            #expect(stale.html.contains("Someone changed this ticket") && stale.html.contains(#"<option value="low" selected>"#))
            #expect((try await harness.send(agent, .GET, "/api/v1/tickets/\(id)")).data["priority"] as? String == "high")
        }
    }

    @Test func formsWithoutTheSessionsTokenChangeNothingAndKeepWhatWasTyped() async throws {
        try await TicketsHarness.with { harness in
            let agent = Actor.admin(Self.tenant).inBrowser()
            let id = try await harness.ticket(agent).lowercased()
            let other = agent.inBrowser()
            for token in [nil, "", other.csrfToken, String(repeating: "A", count: 43)] {
                var fields = [("body", "My carefully written reply")]
                if let token { fields.append(("csrf_token", token)) }
                let refused = try await post(harness, agent, "/agent/messages/\(id)?kind=reply", fields)
                #expect(refused.status == 403, "\(String(describing: token))")
                #expect(refused.html.contains("security token") && refused.html.contains("My carefully written reply"))
                let change = try await post(harness, agent, "/agent/tickets/\(id)", fields + [("priority", "urgent")], multipart: false)
                #expect(change.status == 403)
            }
            let messages = try await harness.send(agent, .GET, "/api/v1/tickets/\(id)/messages")
            #expect(messages.list.count == 1, "only the first message")
            #expect((try await harness.send(agent, .GET, "/api/v1/tickets/\(id)")).data["priority"] as? String == "normal")
            let portal = try await post(harness, Actor.customer(Self.tenant).inBrowser(), "/portal/tickets", [("subject", "Kept subject"), ("body", "Kept body")])
            #expect(portal.status == 403 && portal.html.contains("Kept subject") && portal.html.contains("Kept body"))
        }
    }

    /// A text field after a file in a multipart form is refused: the edge's WAF reads a form's
    /// fields up to its first file only, so such text was never inspected (browsers send the
    /// console's forms with the file input last, as `multipart` does).
    @Test func aTextFieldAfterAFileIsRefusedAndNothingIsWritten() async throws {
        try await TicketsHarness.with { harness in
            let agent = Actor.admin(Self.tenant).inBrowser()
            let id = try await harness.ticket(agent).lowercased()
            let boundary = "----rampartAfterFile"
            let body = Data(("--\(boundary)\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n\(agent.csrfToken ?? "")\r\n"
                + "--\(boundary)\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n").utf8)
                + Data(Self.png) + Data(("\r\n--\(boundary)\r\nContent-Disposition: form-data; name=\"body\"\r\n\r\nText the edge never read\r\n"
                + "--\(boundary)--\r\n").utf8)
            let refused = try await harness.send(agent, .POST, "/agent/messages/\(id)?kind=reply", body: body, contentType: "multipart/form-data; boundary=\(boundary)")
            #expect(refused.status == 403)
            #expect(try await harness.send(agent, .GET, "/api/v1/tickets/\(id)/messages").list.count == 1, "nothing written")
            // The same form with the file last is taken.
            let taken = try await post(harness, agent, "/agent/messages/\(id)?kind=reply", [("body", "Text the edge read"), ("csrf_token", agent.csrfToken ?? "")],
                                       files: [("a.png", Self.png)])
            #expect(taken.status == 303)
            #expect(try await harness.send(agent, .GET, "/api/v1/tickets/\(id)/messages").list.count == 2)
        }
    }

    @Test func badInputShowsFieldErrorsAndKeepsWhatWasTyped() async throws {
        try await TicketsHarness.with { harness in
            let agent = Actor.admin(Self.tenant).inBrowser()
            let id = try await harness.ticket(agent).lowercased()
            let version = try #require(IdentityPagesTests.field("version", in: try await page(harness, agent, "/agent/tickets/\(id)").html))
            let labels = try await post(harness, agent, "/agent/tickets/\(id)", [("csrf_token", agent.csrfToken ?? ""), ("version", version), ("labels", "ok, not a label!")],
                                        multipart: false)
            #expect(labels.status == 422)
            // A form without the version it was shown with (not from the ticket's page) changes nothing either.
            let unversioned = try await post(harness, agent, "/agent/tickets/\(id)", [("csrf_token", agent.csrfToken ?? ""), ("priority", "low")], multipart: false)
            #expect(unversioned.status == 409)
            #expect((try await harness.send(agent, .GET, "/api/v1/tickets/\(id)")).data["priority"] as? String == "normal")
            #expect(labels.html.contains(#"class="field-error" id="labels-error""#) && labels.html.contains("not a label!"))
            let empty = try await post(harness, agent, "/agent/messages/\(id)?kind=note", [("csrf_token", agent.csrfToken ?? ""), ("body", "   ")])
            #expect(empty.status == 422)
            #expect(empty.html.contains(#"id="note-body-error""#))
            let customer = Actor.customer(Self.tenant).inBrowser()
            let portal = try await post(harness, customer, "/portal/tickets", [("csrf_token", customer.csrfToken ?? ""), ("subject", ""), ("body", "Only a body")])
            #expect(portal.status == 422)
            #expect(portal.html.contains(#"id="subject-error""#) && portal.html.contains("Only a body"))
            let badFile = try await post(harness, agent, "/agent/messages/\(id)?kind=reply", [("csrf_token", agent.csrfToken ?? ""), ("body", "See attached")],
                                         files: [("evil.html", Array("<html><script>alert(1)</script></html>".utf8))])
            #expect(badFile.status == 422 && badFile.html.contains("See attached") && badFile.html.contains(#"id="reply-body-error""#))
            #expect((try await harness.send(agent, .GET, "/api/v1/tickets/\(id)/messages")).list.count == 1)
        }
    }

    @Test func theCustomerSubmitsAndFollowsOnlyTheirOwnRequestsAndNeverSeesNotes() async throws {
        try await TicketsHarness.with { harness in
            let customer = Actor.customer(Self.tenant).inBrowser()
            let stranger = Actor.customer(Self.tenant).inBrowser()
            let agent = Actor.admin(Self.tenant).inBrowser()
            let submitted = try await post(harness, customer, "/portal/tickets", [
                ("csrf_token", customer.csrfToken ?? ""), ("subject", "Invoice wrong"), ("body", "Line 3 is twice."), ("priority", "normal"),
            ], files: [("scan.png", Self.png)])
            #expect(submitted.status == 303)
            let path = try #require(submitted.location?.split(separator: "?").first.map(String.init))
            let id = String(path.dropFirst("/portal/tickets/".count))
            let note = try await post(harness, agent, "/agent/messages/\(id)?kind=note", [("csrf_token", agent.csrfToken ?? ""), ("body", "SECRETNOTEWORD here")],
                                      files: [("internal.png", Self.png)])
            #expect(note.status == 303)
            #expect(try await post(harness, agent, "/agent/messages/\(id)?kind=reply", [("csrf_token", agent.csrfToken ?? ""), ("body", "We fixed it.")]).status == 303)

            let mine = try await page(harness, customer, "/portal?done=created")
            #expect(mine.status == 200)
            Self.assertPageHeaders(mine.headers)
            #expect(mine.html.contains("Invoice wrong") && mine.html.contains(#"<script src="/assets/rampart.js"#), "the portal keeps drafts")
            let ticket = try await page(harness, customer, path)
            // The files are on the request's first message, which the customer reads through the API too.
            let messages = try await harness.send(customer, .GET, "/api/v1/tickets/\(id)/messages").list
            #expect(messages.count == 2)
            #expect((messages.first?["attachments"] as? [[String: Any]])?.map { $0["filename"] as? String } == ["scan.png"])
            #expect(ticket.html.contains("Line 3 is twice.") && ticket.html.contains("We fixed it.") && ticket.html.contains("scan.png"))
            #expect(!ticket.html.contains("SECRETNOTEWORD") && !ticket.html.contains("internal.png") && !ticket.html.contains("Internal note"))
            let reply = try await post(harness, customer, "/portal/messages/\(id)", [("csrf_token", customer.csrfToken ?? ""), ("body", "Thanks!")])
            #expect(reply.status == 303)

            // Notes' attachments, other customers' requests and the console stay out of reach.
            let staffView = try await page(harness, agent, "/agent/tickets/\(id)")
            let noteFile = try #require(staffView.html.components(separatedBy: #"href="/agent/attachments/"#).last.map { String($0.prefix { $0 != "\"" }) })
            #expect(try await harness.send(customer, .GET, "/portal/attachments/\(noteFile)").status == 404)
            let foreign = try await page(harness, stranger, path)
            #expect(foreign.status == 404 && !foreign.html.contains("Invoice wrong"))
            #expect(!(try await page(harness, stranger, "/portal")).html.contains("Invoice wrong"))
            #expect(try await post(harness, stranger, "/portal/messages/\(id)", [("csrf_token", stranger.csrfToken ?? ""), ("body", "hijack")]).status == 404)
            #expect(try await page(harness, customer, "/agent/tickets/\(id)").status == 303, "customers are sent to the portal")
            let otherTenant = Actor.admin(TicketsHarness.Tenant.make("beta")).inBrowser()
            #expect(try await page(harness, otherTenant, "/agent/tickets/\(id)").status == 404)
        }
    }

    @Test func storedMarkupRendersInert() async throws {
        try await TicketsHarness.with { harness in
            let agent = Actor.admin(Self.tenant).inBrowser()
            let id = try await harness.ticket(agent, subject: Self.xss, body: Self.xss).lowercased()
            let html = try await harness.send(agent, .POST, "/api/v1/tickets/\(id)/messages",
                                              json: #"{"body":\#(TicketsHarness.quoted(Self.xss + "<b>bold</b><a href=\"javascript:alert(3)\">x</a>")),"format":"html"}"#)
            #expect(html.status == 201)
            for path in ["/agent/tickets?view=all", "/agent/tickets/\(id)"] {
                let page = try await page(harness, agent, path)
                #expect(page.status == 200)
                #expect(!page.html.contains("<script>window") && !page.html.contains("<img src=x") && !page.html.contains(#"href="javascript:"#), "\(path)")
                #expect(page.html.contains("&lt;script&gt;window.pwned=1&lt;/script&gt;"), "\(path)")
            }
            let ticket = try await page(harness, agent, "/agent/tickets/\(id)")
            #expect(ticket.html.contains("<b>bold</b>"), "sanitized HTML keeps its harmless markup")
        }
    }

    @Test func withoutAPrincipalPagesSendTheBrowserToSignIn() async throws {
        try await TicketsHarness.with { harness in
            let reply = try await harness.send(nil, .GET, "/agent/tickets?view=mine", contentType: "text/html")
            #expect(reply.status == 303)
            #expect(reply.headers.first(name: "location") == "/login?return_to=%2Fagent%2Ftickets%3Fview%3Dmine")
        }
    }
}
