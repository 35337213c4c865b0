import Foundation
@testable import Identity
import RampartCore
import Testing

@Suite("Identity: server-rendered sign-in and account pages")
struct IdentityPagesTests {
    /// The value of `name="<field>" value="…"` in a page.
    static func field(_ name: String, in html: String) -> String? {
        guard let range = html.range(of: #"name="\#(name)" value=""#) else { return nil }
        return String(html[range.upperBound...].prefix { $0 != "\"" })
    }

    static func cookie(_ name: String, from headers: [String]) -> String? {
        headers.first { $0.hasPrefix(name + "=") }.map { String($0.dropFirst(name.count + 1).prefix { $0 != ";" }) }
    }

    /// Opens the sign-in page: the pre-session cookie and the form's CSRF token.
    func openLogin(_ world: OAuthWorld, query: String = "") async throws -> (nonce: String, csrf: String, html: String) {
        let page = try await world.call(.GET, "/login" + query)
        #expect(page.status == 200)
        #expect(page.headers.first(name: "content-type") == "text/html; charset=utf-8")
        let csp = try #require(page.headers.first(name: "content-security-policy"))
        #expect(csp.contains("default-src 'none'") && !csp.contains("unsafe-inline") && csp.contains("frame-ancestors 'none'"))
        #expect(!page.text.contains("<script"))
        #expect(page.text.contains(#"<label for="password">"#))
        let nonce = try #require(Self.cookie("__Host-rampart_login", from: page.headers[canonicalForm: "set-cookie"].map(String.init)))
        return (nonce, try #require(Self.field("csrf_token", in: page.text)), page.text)
    }

    @Test func signingInThroughTheFormSetsTheSessionAndReturnsOnlyToLocalPaths() async throws {
        try await OAuthWorld.with { world in
            let (nonce, csrf, html) = try await openLogin(world, query: "?return_to=%2F%2Fevil.test%2Fx")
            #expect(Self.field("return_to", in: html) == "/")
            let form = OAuthWorld.form(["email": "ada@acme.test", "password": OAuthWorld.password, "csrf_token": csrf, "return_to": "/tickets?view=mine"])
            let cookie = [("Cookie", "__Host-rampart_login=\(nonce)")]
            let done = try await world.call(.POST, "/login", body: form, headers: cookie)
            #expect(done.status == 303)
            #expect(done.headers.first(name: "location") == "/tickets?view=mine")
            let session = try #require(Self.cookie("__Host-rampart_session", from: done.headers[canonicalForm: "set-cookie"].map(String.init)))
            #expect(session.count >= 40)

            // Without the pre-session cookie (a cross-site form) the same post is refused.
            let forged = try await world.call(.POST, "/login", body: form)
            #expect(forged.status == 403)
            #expect(forged.headers.first(name: "location") == nil)
            let wrongToken = try await world.call(.POST, "/login", body: OAuthWorld.form(["email": "ada@acme.test", "password": OAuthWorld.password, "csrf_token": csrf]),
                                                  headers: [("Cookie", "__Host-rampart_login=\(String(repeating: "b", count: 43))")])
            #expect(wrongToken.status == 403)
        }
    }

    @Test func aWrongPasswordRedisplaysTheFormWithOneMessageAndEscapesInput() async throws {
        try await OAuthWorld.with { world in
            let (nonce, csrf, _) = try await openLogin(world)
            let cookie = [("Cookie", "__Host-rampart_login=\(nonce)")]
            var bodies: Set<String> = []
            for email in ["ada@acme.test", "nobody@acme.test"] {
                let page = try await world.call(.POST, "/login", body: OAuthWorld.form(["email": email, "password": "wrong password here", "csrf_token": csrf]), headers: cookie)
                #expect(page.status == 401)
                #expect(page.text.contains(SignInPages.refusedMessage))
                bodies.insert(page.text.replacingOccurrences(of: email, with: ""))
            }
            #expect(bodies.count == 1)
            let hostile = try await world.call(.POST, "/login", body: OAuthWorld.form(["email": #""><script>alert(1)</script>"#, "password": "x", "csrf_token": csrf]), headers: cookie)
            #expect(!hostile.text.contains("<script>alert(1)"))
            #expect(hostile.text.contains("&quot;&gt;&lt;script&gt;"))
        }
    }

    @Test func enrollingTOTPInThePagesThenSigningInAsksForTheCode() async throws {
        try await OAuthWorld.with { world in
            // The admin's session principal from the world is the signed-in browser.
            let start = try await world.call(.GET, "/account/two-factor", principal: world.principal)
            #expect(start.status == 200)
            let startToken = try #require(Self.field("csrf_token", in: start.text))
            #expect(startToken == world.csrf)
            let wrong = try await world.call(.POST, "/account/two-factor", body: OAuthWorld.form(["current_password": "nope", "csrf_token": world.csrf]), principal: world.principal)
            #expect(wrong.status == 422)
            let enroll = try await world.call(.POST, "/account/two-factor", body: OAuthWorld.form(["current_password": OAuthWorld.password, "csrf_token": world.csrf]), principal: world.principal)
            #expect(enroll.status == 200)
            #expect(enroll.text.contains("otpauth://totp/"))
            // The QR code on the page encodes exactly the enrollment URI (the encoder itself is checked against python-qrcode).
            let uri = try #require(enroll.text.range(of: #"<a href=""#).map { String(enroll.text[$0.upperBound...].prefix { $0 != "\"" }) })
                .replacingOccurrences(of: "&amp;", with: "&")
            // An SVG image in a data: URL, so no markup is written into the page unescaped.
            let image = try #require(enroll.text.range(of: #"<img src="data:image/svg+xml;base64,"#).map { String(enroll.text[$0.upperBound...].prefix { $0 != "\"" }) })
            #expect(String(decoding: try #require(Data(base64Encoded: image)), as: UTF8.self)
                == (try QRCode(text: uri, correction: .medium).svg(label: "QR code to add this account to an authenticator app")))
            let key = try #require(enroll.text.range(of: "Key: <code>").map { String(enroll.text[$0.upperBound...].prefix { $0 != "<" }) })
            let totp = TOTP(secret: try #require(IdentityRoutesTests.base32Decode(key)))
            let step = totp.step(at: .now)
            let confirmed = try await world.call(.POST, "/account/two-factor/confirm", body: OAuthWorld.form(["code": totp.code(step: step), "csrf_token": world.csrf]),
                                                 principal: world.principal)
            #expect(confirmed.status == 200)
            #expect(confirmed.text.components(separatedBy: "<li><code>").count == 11)
            #expect(confirmed.headers.first(name: "set-cookie")?.hasPrefix("__Host-rampart_session=") == true)

            let (nonce, csrf, _) = try await openLogin(world)
            let cookie = [("Cookie", "__Host-rampart_login=\(nonce)")]
            let prompt = try await world.call(.POST, "/login", body: OAuthWorld.form(["email": "ada@acme.test", "password": OAuthWorld.password, "csrf_token": csrf]), headers: cookie)
            #expect(prompt.status == 200)
            #expect(prompt.headers.first(name: "set-cookie") == nil)
            let challenge = try #require(Self.field("challenge", in: prompt.text))
            let bad = try await world.call(.POST, "/login/totp", body: OAuthWorld.form(["challenge": challenge, "code": "000000", "csrf_token": csrf]), headers: cookie)
            #expect(bad.status == 401)
            let good = try await world.call(.POST, "/login/totp", body: OAuthWorld.form(["challenge": challenge, "code": totp.code(step: step + 1), "csrf_token": csrf]), headers: cookie)
            #expect(good.status == 303)
            #expect(good.headers.first(name: "location") == "/")
        }
    }

    @Test func thePasswordPageExplainsEveryBrokenRuleAndChangesThePassword() async throws {
        try await OAuthWorld.with { world in
            let anonymous = try await world.call(.GET, "/account/password")
            #expect(anonymous.status == 303)
            #expect(anonymous.headers.first(name: "location") == "/login?return_to=%2Faccount%2Fpassword")
            func change(_ new: String, confirm: String? = nil, csrf: String? = nil) async throws -> (status: Int, text: String, location: String?) {
                let answer = try await world.call(.POST, "/account/password", body: OAuthWorld.form([
                    "current_password": OAuthWorld.password, "new_password": new, "confirm_password": confirm ?? new, "csrf_token": csrf ?? world.csrf,
                ]), principal: world.principal)
                return (answer.status, answer.text, answer.headers.first(name: "location"))
            }
            #expect(try await change("another long passphrase", confirm: "different").text.contains("do not match"))
            let weak = try await change("short")
            #expect(weak.status == 422)
            #expect(weak.text.contains("at least 12"))
            #expect(try await change("another long passphrase 7", csrf: String(repeating: "A", count: 43)).status == 403)
            let done = try await change("another long passphrase 7")
            #expect(done.status == 303)
            #expect(done.location == "/account/password?changed=1")
        }
    }
}

@Suite("Identity: invitations")
struct InvitationTests {
    @Test func anInvitedUserSetsAPasswordOnceThroughTheLinkAndIsSignedIn() async throws {
        try await OAuthWorld.with { world in
            let session = [("X-CSRF-Token", world.csrf)]
            let invited = try await world.call(.POST, "/api/v1/users", body: #"{"email":"new@acme.test","name":"Nia New","role":"agent","invite":true}"#,
                                               contentType: "application/json", principal: world.principal, headers: session)
            #expect(invited.status == 201, "\(invited.json)")
            #expect((invited.json["user"] as? [String: Any])?["status"] as? String == "invited")
            #expect(invited.json["password"] == nil)
            let link = try #require(invited.json["invitation_url"] as? String)
            #expect(link.hasPrefix("https://acme.eu.localhost:8443/invitation?token=rin_"))
            let token = String(link.split(separator: "=", maxSplits: 1)[1])
            let userID = try #require((invited.json["user"] as? [String: Any])?["id"] as? String)

            // Not yet able to sign in; the link is nothing at another tenant's host.
            let early = try await world.call(.POST, "/auth/password", body: #"{"email":"new@acme.test","password":"anything at all 123"}"#, contentType: "application/json")
            #expect(early.status == 401)
            #expect(try await world.call(.GET, "/invitation?token=\(token)", host: "globex.eu.localhost").status == 404)

            let page = try await world.call(.GET, "/invitation?token=\(token)")
            #expect(page.status == 200)
            #expect(page.text.contains("new@acme.test"))
            let nonce = try #require(IdentityPagesTests.cookie("__Host-rampart_login", from: page.headers[canonicalForm: "set-cookie"].map(String.init)))
            let csrf = try #require(IdentityPagesTests.field("csrf_token", in: page.text))
            let cookie = [("Cookie", "__Host-rampart_login=\(nonce)")]
            func accept(_ password: String, token: String = token) async throws -> (status: Int, text: String, headers: [String]) {
                let answer = try await world.call(.POST, "/invitation", body: OAuthWorld.form(["token": token, "password": password, "confirm_password": password, "csrf_token": csrf]), headers: cookie)
                return (answer.status, answer.text, answer.headers[canonicalForm: "set-cookie"].map(String.init))
            }
            // Without the pre-session cookie (a third-party page posting the form) nothing is accepted.
            let forged = try await world.call(.POST, "/invitation", body: OAuthWorld.form(["token": token, "password": "plum orchard lantern 58",
                                                                                         "confirm_password": "plum orchard lantern 58", "csrf_token": csrf]))
            #expect(forged.status == 403)
            let weak = try await accept("Nia New 1")
            #expect(weak.status == 422)
            #expect(weak.text.contains("at least 12"))

            // A reissued link replaces the first one.
            let reissued = try await world.call(.POST, "/api/v1/users/\(userID)/invitation", body: nil, principal: world.principal, headers: session)
            #expect(reissued.status == 201)
            let fresh = String(try #require(reissued.json["invitation_url"] as? String).split(separator: "=", maxSplits: 1)[1])
            #expect(try await accept("plum orchard lantern 58").status == 404)

            let done = try await accept("plum orchard lantern 58", token: fresh)
            #expect(done.status == 303)
            #expect(done.headers.contains { $0.hasPrefix("__Host-rampart_session=") })
            #expect(try await accept("plum orchard lantern 59", token: fresh).status == 404)
            let signIn = try await world.call(.POST, "/auth/password", body: #"{"email":"new@acme.test","password":"plum orchard lantern 58"}"#, contentType: "application/json")
            #expect(signIn.status == 200)
        }
    }
}
