import Foundation
@testable import Gateway
import HTTPTypes
import RampartCore
import RampartTransport
import Testing

/// The edge's data and small decisions: the shipped policy, routing tables, host names,
/// credentials, forwarded headers, the principal cache and configuration checks.
@Suite("Gateway: edge policy and routing rules")
struct EdgePolicyTests {
    let eu = Region(rawValue: "eu")!
    let us = Region(rawValue: "us")!

    var shipped: EdgePolicy { get throws { try EdgePolicy(contentsOf: EdgeFixture.shippedPolicyPath) } }

    @Test func shippedPolicyRoutesEveryPublicPrefixToItsService() throws {
        let table = RouteTable(routes: try shipped.routes, blocked: try shipped.blockedPrefixes)
        let expected: [(String, ServiceName, EdgePolicy.AuthRequirement)] = [
            ("/login", .identity, .optional), ("/logout", .identity, .optional), ("/auth/password", .identity, .none),
            ("/auth/logout", .identity, .required), ("/oauth/authorize", .identity, .optional), ("/oauth/token", .identity, .none),
            ("/.well-known/oauth-authorization-server", .identity, .none), ("/.well-known/jwks.json", .identity, .none),
            ("/api/v1/me", .identity, .required), ("/api/v1/me/totp/confirm", .identity, .required), ("/api/v1/users/1", .identity, .required),
            ("/api/v1/api-keys", .identity, .required), ("/api/v1/oauth-clients", .identity, .required), ("/api/v1/security", .identity, .required),
            ("/api/v1/sso", .identity, .required), ("/api/v1/tickets/42/messages", .tickets, .required), ("/api/v1/people", .tickets, .required),
            ("/api/v1/organizations/7", .tickets, .required), ("/api/v1/audit/events", .audit, .required), ("/api/v1/exports", .backup, .required),
            ("/admin", .identity, .required), ("/admin/security/api-keys", .identity, .required),
            ("/admin/helpdesk/teams", .tickets, .required), ("/admin/audit/settings", .audit, .required),
            ("/account/sessions", .identity, .optional), ("/account/activity", .audit, .required),
            ("/portal/tickets", .tickets, .required), ("/agent/messages/1", .tickets, .required),
        ]
        for (path, service, auth) in expected {
            let route = try #require(table.route(for: path), "\(path)")
            #expect(route.service == service, "\(path)")
            #expect(route.auth == auth, "\(path)")
        }
        #expect(table.route(for: "/oauth/token")?.forwardAuthorization == true)
        #expect(table.route(for: "/api/v1/me")?.forwardAuthorization != true)
        // The sign-out button and the admin console's forms carry the CSRF token in a field.
        for path in ["/logout", "/admin", "/admin/security/users"] {
            #expect(table.route(for: path)?.csrf == .form, "\(path)")
        }
        for unrouted in ["/", "/api/v1/ticketsx", "/api/v2/tickets", "/internal/v1/principal", "/metrics", "/.well-known/other"] {
            #expect(table.route(for: unrouted) == nil, "\(unrouted)")
        }
        let status = RouteTable(routes: try shipped.statusRoutes, blocked: try shipped.blockedPrefixes)
        #expect(status.route(for: "/")?.service == .status)
        #expect(status.route(for: "/history")?.auth == EdgePolicy.AuthRequirement.none)
        #expect(status.route(for: "/metrics") == nil && status.route(for: "/healthz") == nil && status.route(for: "/internal/x") == nil)
        #expect(try shipped.authentication.cacheTTLSeconds <= 30)
    }

    @Test func everyServiceTheEdgeForwardsToAllowsTheGatewayInTheAllowList() throws {
        let allowList = try AllowList(contentsOf: RunningService.allowListPath)
        for route in try shipped.routes {
            let path = route.prefix.hasSuffix("/") ? route.prefix + "x" : route.prefix
            #expect(allowList.allows(.service(.gateway, eu), method: "POST", path: path, service: route.service, region: eu), "\(route.prefix)")
            #expect(!allowList.allows(.service(.gateway, us), method: "POST", path: path, service: route.service, region: eu), "\(route.prefix)")
        }
        #expect(allowList.allows(.service(.gateway, eu), method: "GET", path: "/", service: .status, region: eu))
        #expect(!allowList.allows(.service(.gateway, eu), method: "POST", path: "/", service: .status, region: eu))
        // The status page fails over across regions: another region's gateway may read (only) the status service.
        #expect(allowList.allows(.service(.gateway, us), method: "GET", path: "/healthz", service: .status, region: eu))
        #expect(allowList.allows(.service(.gateway, us), method: "HEAD", path: "/", service: .status, region: eu))
        #expect(!allowList.allows(.service(.gateway, us), method: "POST", path: "/", service: .status, region: eu))
        #expect(!allowList.allows(.service(.gateway, us), method: "GET", path: "/healthz", service: .tickets, region: eu))
    }

    @Test(arguments: [
        ("version: 2", "unsupported version"),
        ("cache_ttl_seconds: 30", "cache_ttl_seconds: 31"),
        ("{prefix: /logout, service: identity, auth: optional, csrf: form}", "{prefix: logout, service: identity, auth: optional, csrf: form}"),
        ("{prefix: /logout, service: identity, auth: optional, csrf: form}", "{prefix: /logout, service: gateway, auth: optional, csrf: form}"),
        ("{prefix: /logout, service: identity, auth: optional, csrf: form}", "{prefix: /logout, service: identity, auth: sometimes, csrf: form}"),
        ("{prefix: /login, service: identity, auth: optional, csrf: form, rate_class: sign_in}", "{prefix: /login, service: identity, auth: optional, csrf: cookie, rate_class: sign_in}"),
        ("{prefix: /api/v1/people, service: tickets, auth: required}", "{prefix: /api/v1/people, service: tickets, auth: required, body: huge}"),
        ("contact: [mailto:security@rampart.example]", "contact: [security@rampart.example]"),
        ("max_header_count: 64", "max_header_count: 100000"),
        ("max_concurrent_streams: 100", "max_concurrent_streams: 0"),
        ("write_timeout_ms: 30000", "write_timeout_ms: 10"),
        ("{prefix: /, service: status, auth: none}", "{prefix: /, service: identity, auth: none}"),
        ("order: [us, eu, uk]", "order: [us, eu, us]"),
        ("health_interval_ms: 2000", "health_interval_ms: 0"),
    ])
    func refusesInvalidPolicies(_ replacement: (String, String)) throws {
        let text = try String(contentsOfFile: EdgeFixture.shippedPolicyPath, encoding: .utf8)
        let broken = replacement.0 == "version: 2" ? text.replacingOccurrences(of: "version: 1", with: "version: 2")
            : text.replacingOccurrences(of: replacement.0, with: replacement.1)
        #expect(broken != text)
        #expect(throws: EdgePolicyError.self) { try EdgePolicy(yaml: broken) }
    }

    @Test func hostNamesSelectTenantAndRegionOrNothing() {
        let regions = [eu, us]
        #expect(EdgeHost(host: "acme.eu.localhost:8443", baseDomain: "localhost", regions: regions) == .tenant(TenantSlug(rawValue: "acme")!, eu))
        #expect(EdgeHost(host: "ACME.US.example.com", baseDomain: "example.com", regions: regions) == .tenant(TenantSlug(rawValue: "acme")!, us))
        #expect(EdgeHost(host: "status.localhost", baseDomain: "localhost", regions: regions) == .status)
        for bad in ["acme.uk.localhost", "acme.localhost", "x.acme.eu.localhost", "status.eu.localhost", "ac.eu.localhost",
                    "acme.eu.localhost.evil.com", "acme.eu.localhost:", "acme.eu.localhost:99999x", "acme..eu.localhost",
                    "acme.eu.localhost.", "[::1]:8443", "", "acme_1.eu.localhost", "localhost",
                    // Letters that lowercase to ASCII ones (KELVIN SIGN to k) are not letters of a host name.
                    "ac\u{212A}e.eu.localhost", ".acme.eu.localhost", "acme.eu.localhost:8443:1"] {
            #expect(EdgeHost(host: bad, baseDomain: "localhost", regions: regions) == nil, "\(bad)")
        }
    }

    @Test func canonicalPathsOnly() {
        #expect(EdgePath.canonicalPath(of: "/api/v1/tickets?q=100%25+done") == "/api/v1/tickets")
        #expect(EdgePath.canonicalPath(of: "/") == "/")
        #expect(EdgePath.canonicalPath(of: "/portal/tickets/?page=2") == "/portal/tickets/")
        #expect(EdgePath.canonicalPath(of: "/a/.../b%41?x=%2e%2F") == "/a/.../b%41")
        for bad in ["/a/../b", "/a/./b", "//a", "/a%2fb", "/a%2Eb", "/%00", "/a%zz", "/a%4", "/a\\b", "a/b", "/a%252e",
                    "/a/..", "/a/.", "/a//b", "/a%5Cb", "/a b", "/a\u{7F}", "/é", "/a#b", "/a?b%", "/a?b%g0", "", "?x=1"] {
            #expect(EdgePath.canonicalPath(of: bad) == nil, "\(bad)")
        }
    }

    @Test func credentialsComeFromBearerOrTheSessionCookieAndNeverTwoSessions() {
        #expect(EdgeCredential.extract(from: [.authorization: "Bearer rk_abc"]) == .present(.bearer("rk_abc")))
        #expect(EdgeCredential.extract(from: [.cookie: "a=1; __Host-rampart_session=tok"]) == .present(.session("tok")))
        #expect(EdgeCredential.extract(from: [:]) == .absent)
        #expect(EdgeCredential.extract(from: [.authorization: "Basic YTpi"]) == .malformed)
        #expect(EdgeCredential.extract(from: [.cookie: "__Host-rampart_session=a; __Host-rampart_session=b"]) == .malformed)
        #expect(EdgeCredential.extract(from: [.cookie: "rampart_session=tok"]) == .absent)
    }

    @Test func upstreamHeadersCarryOnlyWhatTheGatewaySets() {
        var client = HTTPFields()
        for (name, value) in [("Accept", "application/json"), ("X-Rampart-Principal", "forged"), ("X-Forwarded-For", "10.0.0.1"),
                              ("Forwarded", "for=1.2.3.4"), ("X-Real-IP", "1.2.3.4"), ("Authorization", "Bearer secret"),
                              ("Cookie", "__Host-rampart_session=s; lang=en"), ("Connection", "close, X-Hop"), ("X-Hop", "1"),
                              ("Transfer-Encoding", "chunked"), ("X-HTTP-Method-Override", "DELETE"), ("X-Request-Id", "client")] {
            client.append(HTTPField(name: HTTPField.Name(name)!, value: value))
        }
        let forwarded = ForwardedHeaders.upstreamRequest(from: client, authority: "acme.eu.localhost", clientIP: "192.0.2.9", requestID: "rid-12345",
                                                         principal: "signed", forwardAuthorization: false)
        let names = Dictionary(forwarded.map { ($0.0.lowercased(), $0.1) }, uniquingKeysWith: { first, _ in first })
        #expect(names["x-rampart-principal"] == "signed")
        #expect(names["x-forwarded-for"] == "192.0.2.9")
        #expect(names["x-forwarded-host"] == "acme.eu.localhost")
        #expect(names["x-request-id"] == "rid-12345")
        #expect(names["cookie"] == "lang=en")
        #expect(names["accept"] == "application/json")
        for dropped in ["forwarded", "x-real-ip", "authorization", "x-hop", "connection", "transfer-encoding", "x-http-method-override"] {
            #expect(names[dropped] == nil, "\(dropped)")
        }
        #expect(forwarded.filter { $0.0.lowercased() == "x-rampart-principal" }.count == 1)
        let withClientAuth = ForwardedHeaders.upstreamRequest(from: client, authority: "a", clientIP: nil, requestID: "r",
                                                              principal: nil, forwardAuthorization: true)
        #expect(withClientAuth.contains { $0.0 == "Authorization" } && !withClientAuth.contains { $0.0 == "X-Rampart-Principal" })
    }

    @Test func principalCacheForgetsAfterItsLifetimeAndStaysBounded() {
        let cache = PrincipalCache(capacity: 16, timeToLive: .seconds(30))
        let key = PrincipalCache.Key(kind: "bearer", credential: "k", host: "acme.eu")
        let start = ContinuousClock.now
        cache.store(.init(token: "token"), lifetime: .seconds(110), for: key, audience: "tickets", askedAt: start, now: start)
        #expect(cache.answer(for: key, audience: "tickets", now: start + .seconds(29))?.token == "token")
        #expect(cache.answer(for: key, audience: "tickets", now: start + .seconds(31))?.token == nil)
        // Another tenant's host or another service is another answer.
        cache.store(.init(token: "token"), lifetime: .seconds(110), for: key, audience: "tickets", askedAt: start, now: start)
        #expect(cache.answer(for: PrincipalCache.Key(kind: "bearer", credential: "k", host: "beta.eu"), audience: "tickets", now: start) == nil)
        #expect(cache.answer(for: key, audience: "audit", now: start) == nil)
        // A token that expires sooner than the cache's lifetime is kept only that long.
        cache.store(.init(token: "short"), lifetime: .seconds(5), for: key, audience: "tickets", askedAt: start, now: start)
        #expect(cache.answer(for: key, audience: "tickets", now: start + .seconds(6))?.token == nil)
        // Forgetting a credential forgets it for every service.
        cache.store(.init(token: "a"), lifetime: .seconds(60), for: key, audience: "tickets", askedAt: start, now: start)
        cache.store(.init(token: "b"), lifetime: .seconds(60), for: key, audience: "identity", askedAt: start, now: start)
        cache.forget(key, now: start)
        #expect(cache.answer(for: key, audience: "tickets", now: start) == nil && cache.answer(for: key, audience: "identity", now: start) == nil)
        for index in 0..<1000 {
            cache.store(.init(token: "t"), lifetime: .seconds(60), for: .init(kind: "bearer", credential: "\(index)", host: "h"), audience: "a", askedAt: start, now: start)
        }
        #expect(cache.count <= 16)
    }

    /// A sign-out forgets the session's principals; an answer identity gave to a question asked
    /// before that (a request in flight while the session ended) is not kept either, so the
    /// ended session cannot come back from the cache.
    @Test func anAnswerToAQuestionAskedBeforeASignOutIsNotCached() {
        let cache = PrincipalCache(capacity: 16, timeToLive: .seconds(30))
        let key = PrincipalCache.Key(kind: "session", credential: "s", host: "acme.eu")
        let start = ContinuousClock.now
        cache.forget(key, now: start + .seconds(1))
        cache.store(.init(token: "stale"), lifetime: .seconds(60), for: key, audience: "tickets", askedAt: start, now: start + .seconds(2))
        #expect(cache.answer(for: key, audience: "tickets", now: start + .seconds(2))?.token == nil)
        cache.store(.init(token: "fresh"), lifetime: .seconds(60), for: key, audience: "tickets", askedAt: start + .seconds(3), now: start + .seconds(4))
        #expect(cache.answer(for: key, audience: "tickets", now: start + .seconds(4))?.token == "fresh", "a question asked after the sign-out is answered as usual")
        // What it remembers of forgotten credentials is bounded, and what goes first is the oldest:
        // a sign-out of a moment ago still keeps an older answer out.
        let recent = PrincipalCache.Key(kind: "session", credential: "recent", host: "h")
        cache.forget(recent, now: start + .seconds(10))
        for index in 0..<1000 { cache.forget(.init(kind: "session", credential: "\(index)", host: "h"), now: start + .milliseconds(index)) }
        cache.store(.init(token: "stale"), lifetime: .seconds(60), for: recent, audience: "a", askedAt: start + .seconds(5), now: start + .seconds(11))
        #expect(cache.answer(for: recent, audience: "a", now: start + .seconds(11))?.token == nil)
        let old = PrincipalCache.Key(kind: "session", credential: "0", host: "h")
        cache.store(.init(token: "again"), lifetime: .seconds(60), for: old, audience: "a", askedAt: start - .seconds(1), now: start + .seconds(11))
        #expect(cache.answer(for: old, audience: "a", now: start + .seconds(11))?.token == "again", "the oldest forgotten credentials made room")
    }

    @Test func anEdgeWithoutItsCertificateDoesNotStart() throws {
        let pki = try TestPKI()
        let tls = try pki.files(for: .service(.gateway, eu))
        var values = [
            "RAMPART_REGION": "eu", "RAMPART_LISTEN_PORT": "9100", "RAMPART_TLS_CA": tls.caCertificatePath,
            "RAMPART_TLS_CERT": tls.certificatePath, "RAMPART_TLS_KEY": tls.privateKeyPath,
            "RAMPART_ALLOWLIST": RunningService.allowListPath, "RAMPART_PRINCIPAL_KEYS": RunningService.allowListPath,
        ]
        #expect(try EdgeSettings.load(ServiceConfig(service: .gateway, source: ConfigSource(values: values))) == nil)
        values["RAMPART_PUBLIC_PORT"] = "8443"
        let missing = #expect(throws: ConfigError.self) { try EdgeSettings.load(ServiceConfig(service: .gateway, source: ConfigSource(values: values))) }
        #expect(missing?.key == "RAMPART_PUBLIC_TLS_CERT")
        values["RAMPART_EDGE_REGIONS"] = "eu,us"
        values["RAMPART_PUBLIC_TLS_CERT"] = tls.certificatePath
        values["RAMPART_PUBLIC_TLS_KEY"] = tls.privateKeyPath
        let noDirectory = #expect(throws: ConfigError.self) { try EdgeSettings.load(ServiceConfig(service: .gateway, source: ConfigSource(values: values))) }
        #expect(noDirectory?.key == "RAMPART_EDGE_PKI_DIR")
        values["RAMPART_EDGE_REGIONS"] = "eu,mars"
        let unknown = #expect(throws: ConfigError.self) { try EdgeSettings.load(ServiceConfig(service: .gateway, source: ConfigSource(values: values))) }
        #expect(unknown?.key == "RAMPART_EDGE_REGIONS")
    }

    @Test func htmlGetsAStrictContentSecurityPolicyAndUpstreamHopByHopHeadersAreDropped() {
        var html: HTTPFields = [.contentType: "text/html; charset=utf-8", .contentSecurityPolicy: "default-src *"]
        ResponseHygiene.apply(to: &html, requestID: "rid-12345")
        let csp = html[.contentSecurityPolicy] ?? ""
        #expect(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'") && csp.contains("object-src 'none'"))
        #expect(!csp.contains("unsafe-inline") && !csp.contains("*"))
        var plain: HTTPFields = [.contentType: "application/json"]
        ResponseHygiene.apply(to: &plain, requestID: "rid-12345", https: false)
        #expect(plain[.strictTransportSecurity] == nil && plain[.xFrameOptions] == "DENY" && plain[.server] == "rampart")

        let upstream: [(name: String, value: String)] = [
            ("Content-Type", "application/json"), ("Connection", "keep-alive, X-Internal-Hop"), ("Keep-Alive", "timeout=5"),
            ("X-Internal-Hop", "1"), ("Transfer-Encoding", "chunked"), ("Server", "rampart-tickets/1.2"), ("X-Rampart-Debug", "x"),
            ("Set-Cookie", "a=b; Secure"), ("ETag", "\"1\""),
        ]
        let fields = ForwardedHeaders.clientResponse(from: upstream)
        #expect(Set(fields.map { $0.name.canonicalName }) == ["content-type", "set-cookie", "etag"])
        // A field named before the `Connection` that names it, and `Close` (RFC 9110 §16.3.2.2), are dropped too.
        let named: [(name: String, value: String)] = [
            ("X-Internal-Hop", "1"), ("Content-Type", "application/json"), ("Close", "x"), ("Connection", "close, x-internal-hop"),
        ]
        #expect(ForwardedHeaders.clientResponse(from: named).map { $0.name.canonicalName } == ["content-type"])
        #expect(ForwardedHeaders.clientResponse(from: [(name: "Close", value: "x"), (name: "Connection", value: "close")]).isEmpty)
    }

    @Test func hygieneKeepsAServicesStricterPoliciesAndSetsEachOfItsOwnHeadersOnce() {
        let strictPolicy = "default-src 'none'; style-src 'sha256-abc'; frame-ancestors 'none'"
        var page: HTTPFields = [
            .contentType: "text/html", .contentSecurityPolicy: strictPolicy, .referrerPolicy: "same-origin",
            .requestID: "forged-by-service", .server: "tickets/1.0", .xPoweredBy: "Swift", .xFrameOptions: "SAMEORIGIN",
            .strictTransportSecurity: "max-age=0", .eTag: "\"1\"",
        ]
        page.append(HTTPField(name: .requestID, value: "second"))
        ResponseHygiene.apply(to: &page, requestID: "rid-12345")
        #expect(page[values: .contentSecurityPolicy] == [strictPolicy])
        #expect(page[values: .referrerPolicy] == ["same-origin"])
        #expect(page[values: .requestID] == ["rid-12345"])
        #expect(page[values: .server] == ["rampart"] && page[.xPoweredBy] == nil)
        #expect(page[values: .xFrameOptions] == ["DENY"] && page[values: HTTPField.Name("X-Content-Type-Options")!] == ["nosniff"])
        #expect(page[values: .strictTransportSecurity] == [ResponseHygiene.strictTransportSecurity])
        #expect(page[.eTag] == "\"1\"" && page[.contentType] == "text/html")

        // A policy that allows framing, or a referrer policy that tells others more, is replaced.
        var loose: HTTPFields = [.contentType: "text/html", .contentSecurityPolicy: "default-src 'none'", .referrerPolicy: "unsafe-url"]
        ResponseHygiene.apply(to: &loose, requestID: "rid-12345")
        #expect(loose[values: .contentSecurityPolicy] == [ResponseHygiene.htmlContentSecurityPolicy])
        #expect(loose[values: .referrerPolicy] == ["strict-origin-when-cross-origin"])
        // An API response's own policy is kept; the redirect port sets no HSTS but drops none.
        var api: HTTPFields = [.contentSecurityPolicy: "sandbox", .strictTransportSecurity: "max-age=1"]
        ResponseHygiene.apply(to: &api, requestID: "rid-12345", https: false)
        #expect(api[values: .contentSecurityPolicy] == ["sandbox"] && api[values: .strictTransportSecurity] == ["max-age=1"])
    }

    @Test func freshRequestIDsAreRandomVersion4UUIDsTheEdgeAcceptsAgain() {
        let ids = (0..<1000).map { _ in EdgeRequestID.make() }
        #expect(Set(ids).count == ids.count)
        for id in ids.prefix(50) {
            #expect(id.range(of: #"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"#, options: .regularExpression) != nil, "\(id)")
            #expect(UUID(uuidString: id) != nil)
            #expect(EdgeRequestID.accept(id) == id)
        }
        // Every hex digit turns up in every free position: the bits are random, not a pattern.
        for position in [0, 7, 9, 15, 20, 35] {
            #expect(Set(ids.map { $0.utf8[$0.utf8.index($0.utf8.startIndex, offsetBy: position)] }).count == 16, "position \(position)")
        }
    }

    @Test func accessLogLinesAreJSONWhateverTheHostHolds() throws {
        let lines = EdgeFixture.CapturedLines()
        let log = AccessLog(sink: lines.sink)
        let host = "acme.eu.localhost\"},\"forged\":\"x\\\n\u{1}é"
        log.record(AccessLog.Entry(requestID: "r-1", clientIP: "192.0.2.1", host: host, tenant: nil, region: "eu", method: "GET",
                                   route: "/api/v1/me", status: 200, bytes: 42, duration: .milliseconds(3), wafScore: 0, rateLimit: "allowed"))
        let line = try #require(lines.all.first)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["http.host"] as? String == host)
        #expect(object["forged"] == nil)
        #expect(object["tenant"] is NSNull)
        #expect(object["http.status"] as? Int == 200 && object["bytes"] as? Int == 42 && object["duration_ms"] as? Double == 3)
        #expect((object["ts"] as? String)?.range(of: #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"#, options: .regularExpression) != nil)
        #expect(object["msg"] as? String == "edge.access" && object["rate_limit"] as? String == "allowed")
    }

    /// The `Date` header and the access log's timestamp, formatted once a second (RFC 9110's
    /// example date; a second later, a new text).
    @Test func utcTimesAreFormattedPerSecond() {
        let httpDate = UTCSecondFormat("%a, %d %b %Y %H:%M:%S GMT")
        #expect(httpDate.text(at: 784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(httpDate.text(at: 784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(httpDate.text(at: 784_111_778) == "Sun, 06 Nov 1994 08:49:38 GMT")
        #expect(UTCSecondFormat("%Y-%m-%dT%H:%M:%S.").text(at: 784_111_777) == "1994-11-06T08:49:37.")
    }
}
