import Foundation
import HTTPTypes
import Hummingbird
import RampartCore
import RampartSecurity
@testable import RampartWeb
import Testing

@Suite("Web kit: layout, escaping, headers, assets, forms and CSRF")
struct WebKitTests {
    static let hostile = #""><script>alert(1)</script><img src=x onerror=alert(2)>'"#

    /// A service template directory holding `name.mustache` files.
    static func templates(_ files: [String: String]) throws -> WebTemplates {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("webkit-\(UUID().uuidString)")
        for (name, text) in files {
            let url = directory.appendingPathComponent(name + ".mustache")
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        return try WebTemplates(serviceDirectory: directory)
    }

    static let formPage = """
        {{<layout}}{{$content}}<form method="post" action="/x">{{>csrf}}{{#fields}}{{>field}}{{/fields}}</form>{{>pagination}}{{/content}}{{/layout}}
        """

    @Test func everyValueIsEscapedInTheLayoutThePartialsAndTheServiceTemplate() throws {
        let kit = try Self.templates(["demo/form": Self.formPage])
        var page = WebPage(title: Self.hostile, template: "demo/form", values: [
            "fields": [FormField("subject", label: Self.hostile, value: Self.hostile, error: Self.hostile, hint: Self.hostile),
                       FormField("kind", label: "Kind", control: .select([.init(Self.hostile, Self.hostile, selected: true)]))],
            "pagination": Pagination(first: "/a", next: "/b?cursor=" + Self.hostile),
        ])
        page.header = PageHeader(home: "/agent", tenant: Self.hostile, links: [Link(Self.hostile, "/agent", current: true)], who: Self.hostile)
        page.flashes = [Flash(error: Self.hostile, items: [Self.hostile]), Flash(notice: Self.hostile)]
        page.csrfToken = Self.hostile
        let html = kit.render(page)
        #expect(!html.contains("<script>alert"))
        #expect(!html.contains("<img src=x"))
        #expect(!html.contains(#""><script"#) && !html.contains(#"'<"#))
        #expect(html.contains("&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"))
        // Every place a value lands: title, header, nav, flash list, label, hint, error, value, option, link, token.
        #expect(html.components(separatedBy: "&lt;script&gt;").count - 1 >= 14)
        #expect(html.contains(#"<label for="subject">"#))
        #expect(html.contains(#"aria-describedby="subject-hint subject-error""#) && html.contains(#"aria-invalid="true""#))
        #expect(html.contains(#"role="alert""#) && html.contains(#"role="status""#))
        #expect(html.contains(#"aria-current="page""#))
        #expect(!html.contains("<script"), "no script unless the page asks for it")
    }

    @Test func passwordsAreNeverShownBack() throws {
        let kit = try Self.templates(["demo/form": Self.formPage])
        let html = kit.render(WebPage(title: "t", template: "demo/form", values: [
            "fields": [FormField("password", label: "Password", control: .input(type: "password"), value: "hunter2-secret", error: "Wrong")],
        ]))
        #expect(!html.contains("hunter2-secret"))
        #expect(html.contains(#"<input type="password" id="password" name="password" value="""#))
    }

    @Test func pagesCarryTheStrictPolicyAndAreNeverCached() throws {
        let kit = try Self.templates(["demo/form": Self.formPage])
        let response = kit.response(WebPage(title: "t", template: "demo/form"), status: .unprocessableContent)
        #expect(response.status == .unprocessableContent)
        let csp = try #require(response.headers[.contentSecurityPolicy])
        #expect(csp == "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
        #expect(!csp.contains("unsafe"))
        #expect(response.headers[.cacheControl] == "no-store")
        #expect(response.headers[.contentType] == "text/html; charset=utf-8")
        #expect(response.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
        #expect(response.headers[HTTPField.Name("X-Frame-Options")!] == "DENY")
        // Only OAuth consent may send its form's answer elsewhere; framing stays forbidden.
        let consent = WebHeaders.contentSecurityPolicy(.anyRedirect)
        #expect(!consent.contains("form-action") && consent.contains("frame-ancestors 'none'") && consent.contains("default-src 'none'"))
    }

    @Test func theScriptIsLinkedOnlyWhenAskedAndFromThisHost() throws {
        let kit = try Self.templates(["demo/form": Self.formPage])
        var page = WebPage(title: "t", template: "demo/form")
        page.script = true
        let html = kit.render(page)
        #expect(html.contains(#"<script src="/assets/rampart.js?v=\#(kit.assets.script.version)" defer></script>"#))
        #expect(html.contains(#"<link rel="stylesheet" href="/assets/rampart.css?v=\#(kit.assets.stylesheet.version)">"#))
        #expect(html.components(separatedBy: "<script").count == 2, "one script element, no inline script")
    }

    @Test func assetsAreLongCachedOnlyUnderTheirContentHash() async throws {
        let assets = try WebAssets()
        func get(_ path: String, ifNoneMatch: String? = nil) async throws -> Response {
            var head = HTTPRequest(method: .get, scheme: "https", authority: "acme.eu.localhost", path: path)
            if let ifNoneMatch { head.headerFields[.ifNoneMatch] = ifNoneMatch }
            let asset = path.hasPrefix(assets.script.path) ? assets.script : assets.stylesheet
            return WebAssets.response(asset, request: Request(head: head, body: .init(buffer: ByteBuffer())))
        }
        let versioned = try await get(assets.stylesheet.url)
        #expect(versioned.status == .ok)
        #expect(versioned.headers[.cacheControl] == "public, max-age=31536000, immutable")
        #expect(versioned.headers[.contentType] == "text/css; charset=utf-8")
        let stale = try await get("/assets/rampart.css?v=0000000000000000")
        #expect(stale.headers[.cacheControl] == "no-cache")
        let bare = try await get("/assets/rampart.js")
        #expect(bare.headers[.cacheControl] == "no-cache")
        #expect(bare.headers[.contentType] == "text/javascript; charset=utf-8")
        let etag = try #require(bare.headers[.eTag])
        let again = try await get("/assets/rampart.js", ifNoneMatch: etag)
        #expect(again.status == .notModified)
        #expect(assets.stylesheet.version.count == 16 && assets.stylesheet.version != assets.script.version)
    }

    static func principal(session: String?, csrf: String?) -> Principal {
        Principal(tenantID: .random(), tenantSlug: TenantSlug(rawValue: "acme")!, region: Region(rawValue: "eu")!, subject: "user:\(UUID().uuidString.lowercased())",
                  kind: .agent, roles: ["agent"], scopes: ["tickets:read"], authenticationMethod: .password, sessionID: session, csrfToken: csrf)
    }

    @Test func formsNeedTheSessionsOwnTokenAsIdentityDerivesIt() {
        let key = CSRFToken(key: .init(size: .bits256))
        let session = UUID().uuidString.lowercased()
        let other = UUID().uuidString.lowercased()
        let principal = Self.principal(session: session, csrf: key.token(for: session))
        #expect(FormCSRF.accepts(FormBody(fields: ["csrf_token": key.token(for: session)]), from: principal))
        #expect(!FormCSRF.accepts(FormBody(fields: [:]), from: principal))
        #expect(!FormCSRF.accepts(FormBody(fields: ["csrf_token": ""]), from: principal))
        #expect(!FormCSRF.accepts(FormBody(fields: ["csrf_token": key.token(for: other)]), from: principal), "another session's token")
        #expect(!FormCSRF.accepts(FormBody(fields: ["csrf_token": CSRFToken(key: .init(size: .bits256)).token(for: session)]), from: principal),
                "a token made with another key")
        #expect(!FormCSRF.accepts(FormBody(fields: ["csrf_token": "x"]), from: Self.principal(session: session, csrf: nil)),
                "a session principal without a token accepts nothing")
        // A bearer credential is never sent by a browser on its own: nothing to forge.
        #expect(FormCSRF.accepts(FormBody(fields: [:]), from: Self.principal(session: nil, csrf: nil)))
    }

    @Test func anExpiredFormExplainsItselfAndKeepsWhatWasTypedButNoSecrets() throws {
        let kit = try WebTemplates()
        let form = try FormBody.parse("body=My+long+reply+%3Cb%3E&password=hunter2&csrf_token=abc&subject=Printer")
        #expect(kit.formExpired(form, back: "/agent").status == .forbidden)
        let html = kit.render(kit.formExpiredPage(form, back: "//evil.example/x"))
        #expect(html.contains("security token"))
        #expect(html.contains("My long reply &lt;b&gt;") && html.contains("Printer"))
        #expect(!html.contains("hunter2") && !html.contains(">abc<"))
        #expect(html.contains(#"<a href="/">Open the form again</a>"#), "the way back never leaves the site")
        #expect(FormBody.isSecret("new_password") && FormBody.isSecret("csrf_token") && !FormBody.isSecret("body"))
    }

    @Test(arguments: ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)", "/ok\u{0}x", "", "evil"])
    func linksBuiltFromInputNeverLeaveTheSite(_ candidate: String) {
        #expect(LocalPath.safe(candidate) == "/")
    }

    @Test func localPathsAreKept() {
        #expect(LocalPath.safe("/agent/tickets/1?view=mine") == "/agent/tickets/1?view=mine")
    }

    /// `{{{…}}}` and `{{&…}}` write a value unescaped: allowed only for sanitizer output.
    @Test func noTemplateWritesAValueUnescapedExceptSanitizedMessageHTML() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let allowed = ["{{{sanitizedHTML}}}"]
        var checked = 0
        for folder in ["Shared", "Services"] {
            let base = root.appendingPathComponent(folder).path
            for case let relative as String in FileManager.default.enumerator(atPath: base) ?? .init() where relative.hasSuffix(".mustache") {
                var text = try String(contentsOfFile: base + "/" + relative, encoding: .utf8)
                for exception in allowed { text = text.replacingOccurrences(of: exception, with: "") }
                #expect(!text.contains("{{{") && !text.contains("{{&") && !text.contains("{{ &"), "\(relative) writes a value unescaped")
                checked += 1
            }
        }
        #expect(checked >= 8)
    }
}
