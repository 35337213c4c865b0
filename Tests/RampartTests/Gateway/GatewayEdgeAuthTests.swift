import Crypto
import Foundation
@testable import Gateway
import NIOCore
import NIOPosix
import RampartCore
import RampartTransport
import Testing

/// Edge authentication, header hygiene towards services, body limits and upstream failures.
@Suite("Gateway: edge authentication and proxying")
struct GatewayEdgeAuthTests {
    func fixture() async throws -> EdgeFixture { try await EdgeFixture.shared.value }

    func url(_ edge: EdgeFixture, _ host: String, _ path: String) -> String { "https://\(host):\(edge.httpsPort)\(path)" }

    /// A gateway of the test's own (its counters and timeouts are the test's), in front of the
    /// shared fixture's identity and `tickets` (the fixture's own unless named); its HTTPS port.
    func gatewayOfItsOwn(_ edge: EdgeFixture, tickets: String? = nil, policy: String? = nil, rateLimits: String? = nil) async throws -> Int {
        let endpoints: [String: Any] = ["regions": ["eu": ["identity": edge.identityEU, "tickets": tickets ?? edge.ticketsEU], "us": ["identity": edge.identityUS]]]
        return try await EdgeFixture.startGateway(
            pki: edge.pki, signingKey: .generate(), endpoints: endpoints, policy: try policy ?? EdgeFixture.policy(), accessLog: AccessLog(sink: .init { _ in }),
            rateLimits: rateLimits
        ).0
    }

    @Test func protectedRoutesWithoutAValidCredentialAre401WithWWWAuthenticate() async throws {
        let edge = try await fixture()
        let echo = url(edge, "acme.eu.localhost", "/api/v1/tickets/echo")
        for headers in [[], ["Authorization: Bearer rk_0000000000000000_notakey"], ["Authorization: Basic YTpi"],
                        ["Cookie: __Host-rampart_session=forged"]] {
            let reply = try await EdgeClient.request(echo, ca: edge.pki.caPath, headers: headers)
            #expect(reply.status == 401, "\(headers)")
            #expect(reply.headers["www-authenticate"]?.hasPrefix("Bearer realm=\"rampart\"") == true, "\(headers)")
            #expect(reply.headers["content-type"] == "application/problem+json")
        }
    }

    @Test func anAPIKeyOfOneTenantIsRefusedAtAnotherTenantsHost() async throws {
        let edge = try await fixture()
        let reply = try await EdgeClient.request(url(edge, "beta.eu.localhost", "/api/v1/tickets/echo"), ca: edge.pki.caPath,
                                           headers: ["Authorization: Bearer \(edge.acmeKey)"])
        #expect(reply.status == 401)
        #expect(reply.json["code"] as? String == "credential_refused")
        #expect(reply.json["principalTenant"] == nil)
    }

    /// An API key allowed from one network only: the edge's cached answer for it holds for the
    /// address it was asked from, never for the same key used from elsewhere.
    @Test func aKeyAllowedFromOneAddressIsRefusedFromAnotherEvenWhileItsAnswerIsCached() async throws {
        let edge = try await fixture()
        let client = InternalClient(tls: edge.operatorTLS)
        defer { Task { try? await client.shutdown() } }
        let created = try await client.send(.POST, url: edge.identityEU + "/internal/v1/operator/tenants/acme/api-keys", body: Data(#"""
            {"user_email":"ada@acme.test","name":"office only","scopes":["tickets:read"],"allowed_cidrs":["127.0.0.2/32"]}
            """#.utf8))
        let key = try #require((try JSONSerialization.jsonObject(with: created.body) as? [String: Any])?["key"] as? String, "status \(created.status)")
        func call(from address: String) async throws -> Int {
            try await EdgeClient.request(url(edge, "acme.eu.localhost", "/api/v1/tickets/echo"), ca: edge.pki.caPath,
                                         headers: ["Authorization: Bearer \(key)"], extra: ["--interface", address]).status
        }
        #expect(try await call(from: "127.0.0.2") == 200)
        #expect(try await call(from: "127.0.0.1") == 401, "the answer cached for 127.0.0.2 admitted the key from 127.0.0.1")
        #expect(try await call(from: "127.0.0.2") == 200)
    }

    @Test func servicesSeeOnlyTheGatewaysPrincipalAndForwardingHeaders() async throws {
        let edge = try await fixture()
        // A forged principal signed by nobody, and forwarding claims, straight from the client.
        let forged = [
            "Authorization: Bearer \(edge.acmeKey)", "X-Rampart-Principal: eyJhbGciOiJub25lIn0.eyJ0ZW5hbnQiOiJiZXRhIn0.",
            "X-Forwarded-For: 10.0.0.1", "X-Forwarded-Host: beta.eu.localhost", "X-Forwarded-Proto: http", "Forwarded: for=10.0.0.1",
            "X-Real-IP: 10.0.0.2", "X-Rampart-Tenant: beta", "Connection: keep-alive, X-Secret-Hop", "X-Secret-Hop: 1",
            "Cookie: theme=dark; __Host-rampart_session=abc",
        ]
        let reply = try await EdgeClient.request(url(edge, "acme.eu.localhost", "/api/v1/tickets/echo"), ca: edge.pki.caPath, headers: forged)
        #expect(reply.status == 200)
        let seen = try #require(reply.json["headers"] as? [String: String])
        #expect(reply.json["principalTenant"] as? String == "acme")
        #expect(seen["x-rampart-principal"]?.hasPrefix("eyJhbGciOiJub25lIn0") == false)
        #expect(seen["x-forwarded-for"] == "127.0.0.1")
        #expect(seen["x-forwarded-host"] == "acme.eu.localhost:\(edge.httpsPort)")
        #expect(seen["x-forwarded-proto"] == "https")
        for dropped in ["forwarded", "x-real-ip", "x-rampart-tenant", "authorization", "x-secret-hop", "connection"] {
            #expect(seen[dropped] == nil, "\(dropped) reached the service")
        }
        #expect(seen["cookie"] == "theme=dark")
        #expect(seen["x-request-id"] == reply.headers["x-request-id"])
    }

    @Test func signInThroughTheEdgeThenTheSessionCookieResolves() async throws {
        let edge = try await fixture()
        let login = try await EdgeClient.request(url(edge, "acme.eu.localhost", "/auth/password"), method: "POST", ca: edge.pki.caPath,
                                           headers: ["Content-Type: application/json"],
                                           body: Data(#"{"email":"ada@acme.test","password":"\#(edge.acmePassword)"}"#.utf8))
        #expect(login.status == 200, "\(login.text)")
        let cookie = try #require(login.headers["set-cookie"])
        let token = String(cookie.dropFirst("__Host-rampart_session=".count).prefix { $0 != ";" })
        let me = try await EdgeClient.request(url(edge, "acme.eu.localhost", "/api/v1/me"), ca: edge.pki.caPath,
                                        headers: ["Cookie: __Host-rampart_session=\(token)"])
        #expect(me.status == 200, "\(me.text)")
        #expect((me.json["user"] as? [String: Any])?["email"] as? String == "ada@acme.test")
        // The same cookie at beta's host is nobody there.
        let beta = try await EdgeClient.request(url(edge, "beta.eu.localhost", "/api/v1/me"), ca: edge.pki.caPath,
                                          headers: ["Cookie: __Host-rampart_session=\(token)"])
        #expect(beta.status == 401)
        // A state change with the cookie alone (what a cross-site form would send) is refused at the edge.
        let csrf = try #require(me.json["csrf_token"] as? String)
        for header in [[String](), ["X-CSRF-Token: \(String(repeating: "A", count: 43))"]] {
            let forged = try await EdgeClient.request(url(edge, "acme.eu.localhost", "/auth/logout"), method: "POST", ca: edge.pki.caPath,
                                                      headers: ["Cookie: __Host-rampart_session=\(token)"] + header)
            #expect(forged.status == 403)
            #expect(forged.json["code"] as? String == "csrf_token_invalid")
        }
        // Signing out ends the session at once, not when the edge's cached principal expires.
        let logout = try await EdgeClient.request(url(edge, "acme.eu.localhost", "/auth/logout"), method: "POST", ca: edge.pki.caPath,
                                                  headers: ["Cookie: __Host-rampart_session=\(token)", "X-CSRF-Token: \(csrf)"])
        #expect(logout.status == 204)
        #expect(logout.headers["set-cookie"]?.contains("Max-Age=0") == true)
        let after = try await EdgeClient.request(url(edge, "acme.eu.localhost", "/api/v1/me"), ca: edge.pki.caPath,
                                                 headers: ["Cookie: __Host-rampart_session=\(token)"])
        #expect(after.status == 401)
    }

    @Test func theSignInPageWorksThroughTheEdge() async throws {
        let edge = try await fixture()
        let page = try await EdgeClient.request(url(edge, "acme.eu.localhost", "/login?return_to=%2Faccount%2Fpassword"), ca: edge.pki.caPath)
        #expect(page.status == 200)
        #expect(page.headers["content-type"]?.hasPrefix("text/html") == true)
        #expect(page.headers["strict-transport-security"] != nil)
        #expect(page.headers["content-security-policy"]?.contains("default-src 'none'") == true)
        let nonce = try #require(page.headers["set-cookie"]).dropFirst("__Host-rampart_login=".count).prefix { $0 != ";" }
        let csrf = try #require(IdentityPagesTests.field("csrf_token", in: page.text))
        let form = OAuthWorld.form(["email": "ada@acme.test", "password": edge.acmePassword, "csrf_token": csrf, "return_to": "/account/password"])
        let signedIn = try await EdgeClient.request(url(edge, "acme.eu.localhost", "/login"), method: "POST", ca: edge.pki.caPath,
                                                    headers: ["Content-Type: application/x-www-form-urlencoded", "Cookie: __Host-rampart_login=\(nonce)"],
                                                    body: Data(form.utf8))
        #expect(signedIn.status == 303, "\(signedIn.text)")
        #expect(signedIn.headers["location"] == "/account/password")
        let session = try #require(signedIn.headers["set-cookie"])
        #expect(session.hasPrefix("__Host-rampart_session="))
        // The account page is then served to the session (its cookie resolved at the edge).
        let token = session.dropFirst("__Host-rampart_session=".count).prefix { $0 != ";" }
        let account = try await EdgeClient.request(url(edge, "acme.eu.localhost", "/account/password"), ca: edge.pki.caPath,
                                                   headers: ["Cookie: __Host-rampart_session=\(token)"])
        #expect(account.status == 200)
        #expect(account.text.contains("Change your password"))
    }

    @Test func aPageLoadWithoutASessionGoesToSignInAndComesBackWhereItWas() async throws {
        let edge = try await fixture()
        let page = url(edge, "acme.eu.localhost", "/agent/tickets?view=mine&status=open")
        let html = "Accept: text/html,application/xhtml+xml,*/*;q=0.8"
        // No session, or one that expired or was forged: sent to sign in, with the page to come back to.
        for cookie in [[String](), ["Cookie: __Host-rampart_session=expired-or-forged"]] {
            let reply = try await EdgeClient.request(page, ca: edge.pki.caPath, headers: [html] + cookie)
            #expect(reply.status == 303, "\(cookie)")
            #expect(reply.headers["location"] == "/login?return_to=%2Fagent%2Ftickets%3Fview%3Dmine%26status%3Dopen")
            #expect(reply.headers["cache-control"] == "no-store")
        }
        // API clients and state changes keep the 401 problem document.
        for (method, headers) in [("GET", ["Accept: application/json"]), ("GET", [String]()), ("POST", [html])] {
            let reply = try await EdgeClient.request(page, method: method, ca: edge.pki.caPath, headers: headers)
            #expect(reply.status == 401, "\(method) \(headers)")
            #expect(reply.headers["content-type"] == "application/problem+json")
        }
        // A form sent from one of our pages goes to sign in and back to the page it was on (its
        // same-origin Referer); another origin's Referer, or none, comes back to `/` only.
        let formPost = url(edge, "acme.eu.localhost", "/agent/messages/0193c1de-0000-7000-8000-000000000001?kind=reply")
        let formType = "Content-Type: application/x-www-form-urlencoded"
        let ticketPage = url(edge, "acme.eu.localhost", "/agent/tickets/0193c1de-0000-7000-8000-000000000001?view=mine#reply")
        for (referer, back) in [
            ([ "Referer: \(ticketPage)"], "%2Fagent%2Ftickets%2F0193c1de-0000-7000-8000-000000000001%3Fview%3Dmine"),
            (["Referer: https://evil.example/agent/tickets/1"], "%2F"),
            (["Referer: https://acme.eu.localhost.evil.example:\(edge.httpsPort)/x"], "%2F"),
            ([String](), "%2F"),
        ] {
            let reply = try await EdgeClient.request(formPost, method: "POST", ca: edge.pki.caPath, headers: [html, formType] + referer,
                                                     body: Data("body=kept".utf8))
            #expect(reply.status == 303, "\(referer)")
            #expect(reply.headers["location"] == "/login?return_to=\(back)", "\(referer)")
        }
        // Not a form (JSON), or a route whose CSRF token travels in a header (the API): the 401 stays.
        for (target, type) in [(formPost, "Content-Type: application/json"), (url(edge, "acme.eu.localhost", "/api/v1/tickets"), formType)] {
            let reply = try await EdgeClient.request(target, method: "POST", ca: edge.pki.caPath, headers: [html, type, "Referer: \(ticketPage)"],
                                                     body: Data("body=kept".utf8))
            #expect(reply.status == 401, "\(target) \(type)")
        }
        // Identity's sign-in page takes the path back, signs in and returns there.
        let location = try #require(try await EdgeClient.request(page, ca: edge.pki.caPath, headers: [html]).headers["location"])
        let login = try await EdgeClient.request(url(edge, "acme.eu.localhost", location), ca: edge.pki.caPath, headers: [html])
        #expect(login.status == 200)
        #expect(IdentityPagesTests.field("return_to", in: login.text) == "/agent/tickets?view=mine&amp;status=open")
        let nonce = try #require(login.headers["set-cookie"]).dropFirst("__Host-rampart_login=".count).prefix { $0 != ";" }
        let csrf = try #require(IdentityPagesTests.field("csrf_token", in: login.text))
        let form = OAuthWorld.form(["email": "ada@acme.test", "password": edge.acmePassword, "csrf_token": csrf, "return_to": "/agent/tickets?view=mine&status=open"])
        let signedIn = try await EdgeClient.request(url(edge, "acme.eu.localhost", "/login"), method: "POST", ca: edge.pki.caPath,
                                                    headers: ["Content-Type: application/x-www-form-urlencoded", "Cookie: __Host-rampart_login=\(nonce)"],
                                                    body: Data(form.utf8))
        #expect(signedIn.status == 303)
        #expect(signedIn.headers["location"] == "/agent/tickets?view=mine&status=open")
        // Another host is never a way back.
        for hostile in ["%2F%2Fevil.example%2Fx", "https%3A%2F%2Fevil.example%2F"] {
            let other = try await EdgeClient.request(url(edge, "acme.eu.localhost", "/login?return_to=\(hostile)"), ca: edge.pki.caPath, headers: [html])
            #expect(IdentityPagesTests.field("return_to", in: other.text) == "/", "\(hostile)")
        }
    }

    @Test func theEdgeRefusesAnAttackWithARequestIDAndPassesAnOrdinaryReply() async throws {
        let edge = try await fixture()
        let key = "Authorization: Bearer \(edge.acmeKey)"
        let attack = try await EdgeClient.request(url(edge, "acme.eu.localhost", "/api/v1/tickets/echo?q=%3Cscript%3Ealert(document.cookie)%3C/script%3E"),
                                                  ca: edge.pki.caPath, headers: [key])
        #expect(attack.status == 403)
        #expect(attack.json["code"] as? String == "request_blocked")
        #expect(attack.headers["x-request-id"] != nil)
        #expect(!attack.text.lowercased().contains("script"))
        let reply = try await EdgeClient.request(url(edge, "acme.eu.localhost", "/api/v1/tickets/echo"), method: "POST", ca: edge.pki.caPath,
                                                 headers: [key, "Content-Type: application/json"],
                                                 body: Data(#"{"body":"Please select the plan and update the table; O'Brien's order 1=1 is fine. Привет 你好"}"#.utf8))
        #expect(reply.status == 200)
    }

    /// HTTP/2 frames a body itself: one sent without `content-length` reaches the service whole
    /// (and inspected), not dropped; an attack in it is refused.
    @Test func anHTTP2BodyWithoutALengthReachesTheServiceWhole() async throws {
        let edge = try await fixture()
        let body = Data(#"{"subject":"Printer","message":{"body":"It smells of toner."}}"#.utf8)
        func post(_ body: Data) async throws -> EdgeClient.Reply {
            try await EdgeClient.request(url(edge, "acme.eu.localhost", "/api/v1/tickets/echo"), method: "POST", ca: edge.pki.caPath,
                                         headers: ["Authorization: Bearer \(edge.acmeKey)", "Content-Type: application/json", "Content-Length:"],
                                         body: body, http2: true)
        }
        let reply = try await post(body)
        #expect(reply.status == 200, "\(reply.json)")
        #expect(reply.json["bodyBytes"] as? Int == body.count)
        #expect(reply.json["bodySHA256"] as? String == SHA256.hash(data: body).map { String(format: "%02x", $0) }.joined())
        let attack = try await post(Data(#"{"subject":"x' UNION SELECT password FROM users--","message":{"body":"<script>alert(1)</script>"}}"#.utf8))
        #expect(attack.status == 403)
    }

    @Test func oversizedBodiesAre413() async throws {
        let edge = try await fixture()
        let key = "Authorization: Bearer \(edge.acmeKey)"
        // Declared too large: refused before reading (the attachments' upload class is 64 KiB here).
        let declared = try await EdgeClient.request(url(edge, "acme.eu.localhost", "/api/v1/attachments/echo"), method: "POST", ca: edge.pki.caPath,
                                              headers: [key, "Content-Type: application/octet-stream"], body: Data(count: 70_000))
        #expect(declared.status == 413)
        #expect(declared.json["code"] as? String == "body_too_large")
        // Chunked, no length: cut off when the stream passes the limit.
        let chunked = try await EdgeClient.request(url(edge, "acme.eu.localhost", "/api/v1/attachments/echo"), method: "POST", ca: edge.pki.caPath,
                                             headers: [key, "Content-Type: application/octet-stream", "Transfer-Encoding: chunked"], body: Data(count: 70_000))
        #expect(chunked.status == 413)
        // Within the class limit, but not a multipart form: the large class is for files in forms,
        // so anything else is read whole and inspected, and may be no larger than that (16 KiB here).
        let notAForm = try await EdgeClient.request(url(edge, "acme.eu.localhost", "/api/v1/attachments/echo"), method: "POST", ca: edge.pki.caPath,
                                                    headers: [key, "Content-Type: application/octet-stream", "Transfer-Encoding: chunked"], body: Data(count: 60_000))
        #expect(notAForm.status == 413)
        let small = try await EdgeClient.request(url(edge, "acme.eu.localhost", "/api/v1/attachments/echo"), method: "POST", ca: edge.pki.caPath,
                                                 headers: [key, "Content-Type: application/octet-stream", "Transfer-Encoding: chunked"], body: Data(count: 10_000))
        #expect(small.status == 200)
        #expect(small.json["bodyBytes"] as? Int == 10_000)
        // The default class (4 KiB here), read whole before forwarding.
        let me = try await EdgeClient.request(url(edge, "acme.eu.localhost", "/api/v1/me/password"), method: "POST", ca: edge.pki.caPath,
                                        headers: [key, "Content-Type: application/json"], body: Data(count: 5000))
        #expect(me.status == 413)
        // Ticket JSON is in the default class too, so the WAF always sees it whole.
        let ticket = try await EdgeClient.request(url(edge, "acme.eu.localhost", "/api/v1/tickets/echo"), method: "POST", ca: edge.pki.caPath,
                                            headers: [key, "Content-Type: application/json"], body: Data(count: 5000))
        #expect(ticket.status == 413)
    }

    /// A multipart form too large to read whole (the upload class) has its fields read and
    /// inspected before any of it is forwarded — up to the first file, whose name is inspected
    /// too — then reaches the service byte for byte; fields before the first file larger than
    /// the inspection bound are refused (413).
    @Test func aMultipartUploadsFieldsAreInspectedBeforeItsFilesStreamThrough() async throws {
        let edge = try await fixture()
        let key = "Authorization: Bearer \(edge.acmeKey)"
        let boundary = "----RampartTestBoundary7MA4YWxk"
        func form(_ parts: [(name: String, filename: String?, content: Data)]) -> Data {
            var body = Data()
            for part in parts {
                body += Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(part.name)\"".utf8)
                if let filename = part.filename { body += Data("; filename=\"\(filename)\"\r\nContent-Type: application/octet-stream".utf8) }
                body += Data("\r\n\r\n".utf8) + part.content + Data("\r\n".utf8)
            }
            return body + Data("--\(boundary)--\r\n".utf8)
        }
        func send(_ body: Data, chunked: Bool = false) async throws -> EdgeClient.Reply {
            try await EdgeClient.request(url(edge, "acme.eu.localhost", "/api/v1/attachments/echo"), method: "POST", ca: edge.pki.caPath,
                                         headers: [key, "Content-Type: multipart/form-data; boundary=\(boundary)"] + (chunked ? ["Transfer-Encoding: chunked"] : []),
                                         body: body)
        }
        // 40 KB of file: more than is read whole here (16 KiB), within the upload class (64 KiB).
        let file = Data((0..<40_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let attacks: [(String, Data)] = [
            ("script in a field before the file", form([("csrf_token", nil, Data("abc".utf8)), ("body", nil, Data("<script>alert(document.cookie)</script>".utf8)),
                                                        ("files", "report.pdf", file)])),
            ("a traversal in the file's name", form([("body", nil, Data("See the attached report.".utf8)), ("files", "../../../etc/passwd", file)])),
            ("script in a form without files", form([("body", nil, Data("<script>alert(document.cookie)</script>".utf8))])),
        ]
        for (label, body) in attacks {
            for chunked in [false, true] {
                let refused = try await send(body, chunked: chunked)
                #expect(refused.status == 403 && refused.json["code"] as? String == "request_blocked", "\(label), chunked \(chunked)")
            }
        }
        let ordinary = form([("csrf_token", nil, Data("abc".utf8)), ("body", nil, Data("Thanks, the invoice for March is attached.".utf8)),
                             ("files", "invoice-march.pdf", file), ("files", "scan.png", file.prefix(9_000))])
        for chunked in [false, true] {
            let passed = try await send(ordinary, chunked: chunked)
            #expect(passed.status == 200, "chunked \(chunked)")
            #expect(passed.json["bodyBytes"] as? Int == ordinary.count)
            #expect(passed.json["bodySHA256"] as? String == SHA256.hash(data: ordinary).map { String(format: "%02x", $0) }.joined(), "forwarded byte for byte")
        }
        // Fields before the first file larger than what is read whole: refused, not streamed past inspection.
        let crowded = try await send(form([("body", nil, Data(repeating: 0x61, count: 20_000)), ("files", "a.pdf", file.prefix(1_000))]))
        #expect(crowded.status == 413 && crowded.json["code"] as? String == "body_too_large")
        // Parts that tickets would read as text but a lax parser as a file, or not at all: the edge
        // reads forms with tickets' own parser, so they are malformed here (400), whatever follows.
        let script = "<script>alert(document.cookie)</script>"
        let smuggled: [(String, Data)] = [
            ("an unquoted file name", Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"subject\"; filename=x\r\n\r\n\(script)\r\n".utf8) + file),
            ("an empty header block", Data("--\(boundary)\r\n\r\nContent-Disposition: form-data; name=\"subject\"\r\n\r\n\(script)\r\n".utf8) + file),
            ("a preamble", Data("hello\r\n".utf8) + form([("subject", nil, Data(script.utf8)), ("files", "a.pdf", file)])),
        ]
        for (label, body) in smuggled {
            let refused = try await send(body)
            #expect(refused.status == 400 && refused.json["code"] as? String == "malformed_body", "\(label)")
        }
        // A form without files, urlencoded, on the same route: read whole and inspected.
        func urlencoded(_ text: String) async throws -> EdgeClient.Reply {
            try await EdgeClient.request(url(edge, "acme.eu.localhost", "/api/v1/attachments/echo"), method: "POST", ca: edge.pki.caPath,
                                         headers: [key, "Content-Type: application/x-www-form-urlencoded"], body: Data(text.utf8))
        }
        #expect(try await urlencoded("subject=%3Cscript%3Ealert(document.cookie)%3C%2Fscript%3E").status == 403)
        #expect(try await urlencoded("subject=Invoice+for+March").status == 200)
        #expect(try await urlencoded("subject=" + String(repeating: "a", count: 20_000)).status == 413)
    }

    @Test func tooManyOrTooLargeHeadersAre431() async throws {
        let edge = try await fixture()
        let many = (0..<40).map { "X-Filler-\($0): \($0)" }
        let crowded = try await EdgeClient.request(url(edge, "acme.eu.localhost", "/api/v1/tickets/echo"), ca: edge.pki.caPath, headers: many)
        #expect(crowded.status == 431)
        #expect(crowded.headers["strict-transport-security"] != nil)
        let huge = try await EdgeClient.request(url(edge, "acme.eu.localhost", "/api/v1/tickets/echo"), ca: edge.pki.caPath,
                                          headers: ["X-Huge: " + String(repeating: "a", count: 9000)])
        #expect(huge.status == 431)
        #expect(huge.json["code"] as? String == "headers_too_large")
    }

    @Test func anUpstreamThatIsDownIsAProblemDocument() async throws {
        let edge = try await fixture()
        let key = "Authorization: Bearer \(edge.acmeKey)"
        // audit's endpoint is a closed port; backup has no endpoint in eu at all.
        let audit = try await EdgeClient.request(url(edge, "acme.eu.localhost", "/api/v1/audit/events"), ca: edge.pki.caPath, headers: [key])
        #expect(audit.status == 502)
        #expect(audit.json["code"] as? String == "upstream_unreachable")
        #expect(audit.headers["content-type"] == "application/problem+json")
        let backup = try await EdgeClient.request(url(edge, "acme.eu.localhost", "/api/v1/exports"), ca: edge.pki.caPath, headers: [key])
        #expect(backup.status == 503)
        #expect(backup.json["code"] as? String == "service_unavailable")
    }

    /// A tenant limit of two (a gateway of its own, so its counters are this test's). Anonymous
    /// requests (anyone can send them to any tenant's host) and requests the service refuses to
    /// whoever asked never spend it; the tenant's own other requests do.
    @Test func onlyTheTenantsOwnRequestsSpendItsLimits() async throws {
        let edge = try await fixture()
        let port = try await gatewayOfItsOwn(edge, rateLimits: """
            version: 1
            limits:
              - {name: ip, key: [client_ip], requests: 6000, period: 1m, burst: 1000}
              - {name: tenant, key: [tenant], requests: 2, period: 1h, burst: 2}
            """)
        func status(_ path: String, _ headers: [String] = []) async throws -> Int {
            try await EdgeClient.request("https://acme.eu.localhost:\(port)\(path)", ca: edge.pki.caPath, headers: headers).status
        }
        var anonymous: [Int] = []
        for headers in [[], ["Authorization: Bearer rk_0000000000000000_notakey"], ["Cookie: __Host-rampart_session=forged"], [], []] {
            anonymous.append(try await status("/api/v1/tickets/echo", headers))
        }
        #expect(anonymous == [401, 401, 401, 401, 401])
        let key = ["Authorization: Bearer \(edge.acmeKey)"]
        var refused: [Int] = []
        for _ in 0..<3 { refused.append(try await status("/api/v1/tickets/no-such-route", key)) }
        #expect(refused == [404, 404, 404], "the service refused them (given back)")
        var accepted: [Int] = []
        for _ in 0..<3 { accepted.append(try await status("/api/v1/tickets/echo", key)) }
        #expect(accepted == [200, 200, 429])
    }

    /// A principal limit of two (a gateway of its own): one person's two sessions share it, while
    /// another principal of the same tenant (an API key) and anonymous requests do not spend it.
    @Test func aPersonsLimitHoldsAcrossTheirSessions() async throws {
        let edge = try await fixture()
        let port = try await gatewayOfItsOwn(edge, rateLimits: """
            version: 1
            limits:
              - {name: ip, key: [client_ip], requests: 6000, period: 1m, burst: 1000}
              - {name: principal, key: [principal], requests: 2, period: 1h, burst: 2}
            """)
        func get(_ headers: [String]) async throws -> EdgeClient.Reply {
            try await EdgeClient.request("https://acme.eu.localhost:\(port)/api/v1/tickets/echo", ca: edge.pki.caPath, headers: headers)
        }
        var sessions: [String] = []
        for _ in 0..<2 {
            let login = try await EdgeClient.request("https://acme.eu.localhost:\(port)/auth/password", method: "POST", ca: edge.pki.caPath,
                                                     headers: ["Content-Type: application/json"],
                                                     body: Data(#"{"email":"ada@acme.test","password":"\#(edge.acmePassword)"}"#.utf8))
            #expect(login.status == 200, "\(login.text)")
            let cookie = try #require(login.headers["set-cookie"])
            sessions.append("Cookie: __Host-rampart_session=" + String(cookie.dropFirst("__Host-rampart_session=".count).prefix { $0 != ";" }))
        }
        #expect(sessions[0] != sessions[1])
        for _ in 0..<3 { #expect(try await get([]).status == 401) }
        #expect(try await get([sessions[0]]).status == 200)
        #expect(try await get([sessions[1]]).status == 200)
        let limited = try await get([sessions[0]])
        #expect(limited.status == 429)
        #expect(limited.json["code"] as? String == "rate_limited")
        #expect(limited.headers["retry-after"] != nil)
        #expect(try await get([sessions[1]]).status == 429)
        #expect(try await get(["Authorization: Bearer \(edge.acmeKey)"]).status == 200, "another principal of the tenant")
    }

    /// A service that takes a connection and then nothing (not even the TLS handshake) while an
    /// upload streams to it: the response timeout (1 s here) runs from the request's first piece,
    /// so the client gets a problem document instead of the exchange hanging until the client's
    /// own body timeout cuts it off unanswered.
    @Test func aServiceThatStopsTakingAStreamedUploadFailsItInTime() async throws {
        let edge = try await fixture()
        let hole = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelOption(.autoRead, value: false)
            .bind(host: "127.0.0.1", port: 0).get()
        defer { hole.close(promise: nil) }
        let holePort = try #require(hole.localAddress?.port)
        let port = try await gatewayOfItsOwn(
            edge, tickets: "https://127.0.0.1:\(holePort)", policy: try EdgeFixture.policy(bodyTimeoutMilliseconds: 10000, responseTimeoutMilliseconds: 1000)
        )
        let start = ContinuousClock.now
        // A 60 KiB file in the upload class: streamed after the form's head (the test policy reads 16 KiB first).
        let form = WafCorpus.multipart([["name": "file", "filename": "log.txt", "value": String(repeating: "a", count: 60 * 1024)]])
        let reply = try await EdgeClient.request(
            "https://acme.eu.localhost:\(port)/api/v1/attachments", method: "POST", ca: edge.pki.caPath,
            headers: ["Authorization: Bearer \(edge.acmeKey)", "Content-Type: multipart/form-data; boundary=\(WafCorpus.boundary)"], body: Data(form)
        )
        #expect(reply.status == 504, "\(reply.status) \(reply.text.prefix(200))")
        #expect(reply.json["code"] as? String == "upstream_timeout")
        #expect(reply.headers["content-type"] == "application/problem+json")
        #expect(start.duration(to: .now) < .seconds(8), "\(start.duration(to: .now))")
    }

    @Test func everyRequestIsOneAccessLogLine() async throws {
        let edge = try await fixture()
        let id = "access-log-\(UUID().uuidString.prefix(8))"
        let reply = try await EdgeClient.request(url(edge, "acme.eu.localhost", "/api/v1/tickets/echo?secret=do-not-log"), ca: edge.pki.caPath,
                                           headers: ["Authorization: Bearer \(edge.acmeKey)", "X-Request-Id: \(id)"])
        #expect(reply.status == 200)
        var line: [String: Any]?
        for _ in 0..<40 where line == nil {
            line = edge.accessLog.all.filter { $0.contains(id) }.first.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            if line == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        let entry = try #require(line)
        #expect(edge.accessLog.all.filter { $0.contains(id) }.count == 1)
        #expect(entry["msg"] as? String == "edge.access")
        #expect(entry["client.ip"] as? String == "127.0.0.1")
        #expect(entry["tenant"] as? String == "acme")
        #expect(entry["region"] as? String == "eu")
        #expect(entry["http.method"] as? String == "GET")
        #expect(entry["http.route"] as? String == "/api/v1/tickets")
        #expect(entry["http.status"] as? Int == 200)
        #expect(entry["bytes"] as? Int == reply.body.count)
        #expect(entry["duration_ms"] is Double || entry["duration_ms"] is Int)
        #expect(entry["waf.score"] as? Int == 0)
        #expect(entry["rate_limit"] as? String == "allowed")
        #expect(entry["ts"] is String && entry["http.host"] as? String == "acme.eu.localhost:\(edge.httpsPort)")
        let text = edge.accessLog.all.filter { $0.contains(id) }.joined()
        #expect(!text.contains("do-not-log") && !text.contains(edge.acmeKey))
    }

    /// RFC 9112 §9.6: after a request with `Connection: close`, requests pipelined behind it on
    /// the same connection are neither answered nor forwarded.
    /// RFC 9112 §9.6. NIO's parser already refuses data after a request with `Connection: close`;
    /// this guards the whole path. The edge's own closing is tested below.
    @Test func nothingPipelinedAfterConnectionCloseIsProcessed() async throws {
        try await expectOnlyTheFirstAnswered(
            first: "Connection: close\r\n\r\n", status: "HTTP/1.1 200 OK\r\n")
    }

    /// Sends a GET whose head ends with `first` (its last fields and the blank line, then any body)
    /// and a second request pipelined after it; only the first may be answered, once, and the
    /// second leaves no access-log line, the first one (written once it was answered).
    private func expectOnlyTheFirstAnswered(method: String = "GET", first: String, status: String) async throws {
        let edge = try await fixture()
        let firstID = "pipelined-first-\(UUID().uuidString.prefix(8))", secondID = "pipelined-second-\(UUID().uuidString.prefix(8))"
        let head = { (method: String, id: String) in
            "\(method) /api/v1/tickets/echo HTTP/1.1\r\nHost: acme.eu.localhost\r\nAuthorization: Bearer \(edge.acmeKey)\r\nX-Request-Id: \(id)\r\n"
        }
        let client = try await TLSReader.connect(port: edge.httpsPort, serverName: "acme.eu.localhost", ca: edge.pki.caPath)
        try await client.send(head(method, firstID) + first + head("GET", secondID) + "\r\n")
        #expect(await client.waitUntilClosed(within: .seconds(10)))
        let received = String(decoding: client.bytes, as: UTF8.self)
        // One answer: the second would carry its own request id in its head.
        #expect(received.hasPrefix(status), "\(received.prefix(300))")
        #expect(received.contains(firstID) && !received.contains(secondID))
        try await Task.sleep(for: .milliseconds(500))
        #expect(edge.accessLog.all.contains { $0.contains(firstID) })
        #expect(!edge.accessLog.all.contains { $0.contains(secondID) })
    }

    /// The edge's own decision to close (413 for a declared length over the limit): the body is
    /// sent whole and a request follows it; the edge answers once and processes nothing more (with
    /// `Connection: close` from the client, NIO's parser already refuses what follows).
    @Test func nothingPipelinedAfterAnOversizedBodyIsProcessed() async throws {
        try await expectOnlyTheFirstAnswered(
            method: "POST", first: "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n" + String(repeating: "x", count: 100_000),
            status: "HTTP/1.1 413"
        )
    }

    @Test func ambiguousRequestsAreRefusedAndAnOversizedBodyEndsTheConnection() async throws {
        let edge = try await fixture()
        let host = "acme.eu.localhost"
        let key = "Authorization: Bearer \(edge.acmeKey)"
        // Two Host headers: which one names the tenant would be a guess.
        let twoHosts = try await EdgeClient.raw(port: edge.httpsPort, serverName: host, ca: edge.pki.caPath, request:
            "GET /api/v1/tickets/echo HTTP/1.1\r\nHost: \(host)\r\nHost: beta.eu.localhost\r\n\(key)\r\nConnection: close\r\n\r\n")
        #expect(twoHosts.hasPrefix("HTTP/1.1 400"), "\(twoHosts)")
        // Content-Length and Transfer-Encoding together (request smuggling): never forwarded.
        let smuggled = try await EdgeClient.raw(port: edge.httpsPort, serverName: host, ca: edge.pki.caPath, request:
            "POST /api/v1/tickets/echo HTTP/1.1\r\nHost: \(host)\r\n\(key)\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /api/v1/me HTTP/1.1\r\nHost: \(host)\r\n\r\n")
        #expect(smuggled.hasPrefix("HTTP/1.1 400"), "\(smuggled)")
        #expect(!smuggled.contains("\"principalTenant\""))
        // Too large a body, declared: 413, then the connection is closed — the pipelined request after it is never answered.
        let oversized = try await EdgeClient.raw(port: edge.httpsPort, serverName: host, ca: edge.pki.caPath, request:
            "POST /api/v1/tickets/echo HTTP/1.1\r\nHost: \(host)\r\n\(key)\r\nContent-Length: 100000\r\n\r\n" + String(repeating: "x", count: 2000))
        #expect(oversized.hasPrefix("HTTP/1.1 413"), "\(oversized)")
        #expect(oversized.lowercased().contains("connection: close"))
        #expect(oversized.components(separatedBy: "HTTP/1.1 ").count == 2)
    }
}
