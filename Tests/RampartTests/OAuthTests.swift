import AsyncHTTPClient
import Foundation
@testable import Identity
import NIOHTTP1
import RampartCore
import RampartSecurity
import RampartStorage
import RampartTransport
import Testing

/// A running identity with one tenant `acme` (and `globex`), an admin who signed in through the
/// gateway, and helpers that speak as the gateway at a tenant's host.
struct OAuthWorld: Sendable {
    let service: RunningService
    let pki: TestPKI
    let eu = Region(rawValue: "eu")!
    /// The admin's principal (from a real session) and its CSRF token.
    let principal: String
    let csrf: String

    static let password = "violet submarine harbour 42"

    static func with(_ body: @escaping @Sendable (OAuthWorld) async throws -> Void) async throws {
        try await IdentityRoutesTests().withIdentity { service, pki in
            let routes = IdentityRoutesTests()
            let op = CallerIdentity.operator("alice")
            let base = service.baseURL + "/internal/v1/operator/tenants"
            for slug in ["acme", "globex"] {
                _ = try await routes.send(pki, as: op, .POST, base, json: #"{"slug":"\#(slug)","display_name":"\#(slug)"}"#)
                let (created, _) = try await routes.send(pki, as: op, .POST, base + "/\(slug)/users",
                                                         json: #"{"email":"ada@\#(slug).test","name":"Ada","role":"admin","password":"\#(password)"}"#)
                #expect(created == 201)
            }
            let gateway = CallerIdentity.service(.gateway, Region(rawValue: "eu")!)
            let ((signedIn, _), headers) = try await routes.sendWithHeaders(
                pki, as: gateway, .POST, service.baseURL + "/auth/password", json: #"{"email":"ada@acme.test","password":"\#(password)"}"#,
                headers: [("X-Forwarded-Host", "acme.eu.localhost:8443"), ("X-Forwarded-For", "192.0.2.44")]
            )
            #expect(signedIn == 200)
            let cookie = try #require(headers.first(name: "set-cookie"))
            let session = String(cookie.dropFirst("__Host-rampart_session=".count).prefix { $0 != ";" })
            let (resolved, answer) = try await routes.send(pki, as: gateway, .POST, service.baseURL + "/internal/v1/principal",
                                                           json: #"{"tenant":"acme","session":"\#(session)","audience":"identity"}"#)
            #expect(resolved == 200)
            try await body(OAuthWorld(service: service, pki: pki, principal: try #require(answer["principal"] as? String),
                                      csrf: try #require(answer["csrf_token"] as? String)))
        }
    }

    /// A request from the gateway for `host`; `principal` adds the admin's session principal.
    func call(_ method: HTTPMethod, _ path: String, body: String? = nil, contentType: String = "application/x-www-form-urlencoded",
              host: String = "acme.eu.localhost:8443", principal: String? = nil, headers: [(String, String)] = [])
        async throws -> (status: Int, json: [String: Any], headers: HTTPHeaders, text: String) {
        let client = InternalClient(tls: try InternalTLS(files: try pki.files(for: .service(.gateway, eu))))
        defer { Task { try? await client.shutdown() } }
        var all = [("X-Forwarded-Host", host), ("X-Forwarded-For", "192.0.2.44")] + headers
        if let principal { all.append(("X-Rampart-Principal", principal)) }
        let reply = try await client.send(method, url: service.baseURL + path, body: body.map { Data($0.utf8) }, contentType: contentType, headers: all)
        let json = (try? JSONSerialization.jsonObject(with: reply.body) as? [String: Any]) ?? [:]
        return (reply.status, json, reply.headers, String(decoding: reply.body, as: UTF8.self))
    }

    /// Registers a client through the operator API; returns its id and secret (nil for public clients).
    func client(tenant: String = "acme", public isPublic: Bool = false, scopes: [String] = ["tickets:read", "tickets:write"],
                redirect: String = "https://partner.test/cb") async throws -> (id: String, secret: String?) {
        let body = #"{"name":"Partner","redirect_uris":["\#(redirect)"],"scopes":\#(scopes.debugDescription),"public":\#(isPublic)}"#
        let (status, json) = try await IdentityRoutesTests().send(pki, as: .operator("alice"), .POST,
                                                                  service.baseURL + "/internal/v1/operator/tenants/\(tenant)/oauth-clients", json: body)
        #expect(status == 201, "\(json)")
        return (try #require(json["client_id"] as? String), json["client_secret"] as? String)
    }

    /// Runs the consent flow as the signed-in admin; returns the `Location` the browser is sent to.
    func authorize(_ query: [String: String], decision: String = "approve") async throws -> URLComponents {
        let encoded = AuthorizeRoutes.encode(query)
        let page = try await call(.GET, "/oauth/authorize?" + encoded, principal: principal)
        #expect(page.status == 200, "\(page.text)")
        #expect(page.text.contains(#"name="csrf_token" value="\#(csrf)""#))
        #expect(!page.text.contains("<script"))
        let form = AuthorizeRoutes.encode(query.merging(["decision": decision, "csrf_token": csrf]) { $1 })
        let answer = try await call(.POST, "/oauth/authorize", body: form, principal: principal)
        #expect(answer.status == 303)
        return try #require(URLComponents(string: answer.headers.first(name: "location") ?? ""))
    }

    /// Form-encodes `fields` for the token endpoints.
    static func form(_ fields: [String: String]) -> String { AuthorizeRoutes.encode(fields) }
}

extension URLComponents {
    func value(_ name: String) -> String? { queryItems?.first { $0.name == name }?.value }
}

@Suite("Identity: OAuth 2.0 authorization server")
struct OAuthTests {
    static let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-long-enough"

    func codeQuery(_ clientID: String, pkce: Bool = true) -> [String: String] {
        var query = ["response_type": "code", "client_id": clientID, "redirect_uri": "https://partner.test/cb", "scope": "tickets:read", "state": "xyz 1+2"]
        if pkce {
            query["code_challenge"] = PKCE.challenge(for: Self.verifier)
            query["code_challenge_method"] = "S256"
        }
        return query
    }

    @Test func codeWithPKCEGivesTokensThatResolveToTheUserWithTheGrantedScopes() async throws {
        try await OAuthWorld.with { world in
            let (clientID, _) = try await world.client(public: true)
            let back = try await world.authorize(codeQuery(clientID))
            #expect(back.host == "partner.test")
            #expect(back.value("state") == "xyz 1+2")
            #expect(back.value("iss") == "https://acme.eu.localhost:8443")
            let code = try #require(back.value("code"))
            let token = try await world.call(.POST, "/oauth/token", body: OAuthWorld.form([
                "grant_type": "authorization_code", "code": code, "redirect_uri": "https://partner.test/cb", "client_id": clientID, "code_verifier": Self.verifier,
            ]))
            #expect(token.status == 200, "\(token.json)")
            #expect(token.headers.first(name: "cache-control") == "no-store")
            #expect(token.json["token_type"] as? String == "Bearer")
            #expect(token.json["scope"] as? String == "tickets:read")
            #expect((token.json["expires_in"] as? Int).map { $0 <= 3600 } == true)
            let access = try #require(token.json["access_token"] as? String)
            #expect(access.hasPrefix("rat_"))
            #expect((token.json["refresh_token"] as? String)?.hasPrefix("rrt_") == true)

            let resolved = try await world.call(.POST, "/internal/v1/principal", body: #"{"tenant":"acme","credential":"\#(access)","audience":"tickets"}"#, contentType: "application/json")
            #expect(resolved.status == 200)
            #expect(resolved.json["scopes"] as? [String] == ["tickets:read"])
            #expect((resolved.json["subject"] as? String)?.hasPrefix("user:") == true)
            // The same token at another tenant's host is nobody.
            let elsewhere = try await world.call(.POST, "/internal/v1/principal", body: #"{"tenant":"globex","credential":"\#(access)","audience":"tickets"}"#, contentType: "application/json")
            #expect(elsewhere.status == 401)
        }
    }

    @Test func pkceAndRedirectFailuresAreRefused() async throws {
        try await OAuthWorld.with { world in
            let (publicID, _) = try await world.client(public: true)
            // A public client without PKCE, or with `plain`, is sent back with invalid_request and its state.
            for query in [codeQuery(publicID, pkce: false), codeQuery(publicID).merging(["code_challenge_method": "plain"]) { $1 }] {
                let page = try await world.call(.GET, "/oauth/authorize?" + AuthorizeRoutes.encode(query), principal: world.principal)
                #expect(page.status == 303)
                let back = try #require(URLComponents(string: page.headers.first(name: "location") ?? ""))
                #expect(back.value("error") == "invalid_request")
                #expect(back.value("state") == "xyz 1+2")
            }
            // An unregistered redirect URI or client is shown on the page, never redirected to.
            for query in [codeQuery(publicID).merging(["redirect_uri": "https://evil.test/cb"]) { $1 },
                          codeQuery(publicID).merging(["redirect_uri": "https://partner.test/cb/../evil"]) { $1 },
                          codeQuery("0123456789abcdef")] {
                let page = try await world.call(.GET, "/oauth/authorize?" + AuthorizeRoutes.encode(query), principal: world.principal)
                #expect(page.status == 400)
                #expect(page.headers.first(name: "location") == nil)
            }
            // Wrong, missing and malformed verifiers: invalid_grant or invalid_request, and the code is spent.
            for verifier in ["wrong-" + Self.verifier, nil, "short"] {
                let code = try #require(try await world.authorize(codeQuery(publicID)).value("code"))
                var fields = ["grant_type": "authorization_code", "code": code, "redirect_uri": "https://partner.test/cb", "client_id": publicID]
                fields["code_verifier"] = verifier
                let token = try await world.call(.POST, "/oauth/token", body: OAuthWorld.form(fields))
                #expect(token.status == 400)
                #expect(token.json["error"] as? String == (verifier == "short" ? "invalid_request" : "invalid_grant"))
                #expect(token.json["access_token"] == nil)
            }
            // A code redeemed with another redirect URI than it was issued for is refused.
            let code = try #require(try await world.authorize(codeQuery(publicID)).value("code"))
            let wrongURI = try await world.call(.POST, "/oauth/token", body: OAuthWorld.form([
                "grant_type": "authorization_code", "code": code, "redirect_uri": "https://partner.test/other", "client_id": publicID, "code_verifier": Self.verifier,
            ]))
            #expect(wrongURI.json["error"] as? String == "invalid_grant")
            // Denying consent sends access_denied.
            let denied = try await world.authorize(codeQuery(publicID), decision: "deny")
            #expect(denied.value("error") == "access_denied")
            #expect(denied.value("code") == nil)
        }
    }

    @Test func consentNeedsTheSessionsCSRFTokenAndASignedInUser() async throws {
        try await OAuthWorld.with { world in
            let (clientID, _) = try await world.client(public: true)
            let query = codeQuery(clientID)
            let forged = try await world.call(.POST, "/oauth/authorize", body: AuthorizeRoutes.encode(query.merging(["decision": "approve", "csrf_token": String(repeating: "A", count: 43)]) { $1 }),
                                              principal: world.principal)
            #expect(forged.status == 403)
            #expect(forged.headers.first(name: "location") == nil)
            // Not signed in: off to the sign-in page, coming back to the same request.
            let anonymous = try await world.call(.GET, "/oauth/authorize?" + AuthorizeRoutes.encode(query))
            #expect(anonymous.status == 303)
            #expect(anonymous.headers.first(name: "location")?.hasPrefix("/login?return_to=%2Foauth%2Fauthorize%3F") == true)
        }
    }

    @Test func aReplayedCodeIsRefusedAndRevokesTheTokensOfItsFirstUse() async throws {
        try await OAuthWorld.with { world in
            let (clientID, secret) = try await world.client()
            let code = try #require(try await world.authorize(codeQuery(clientID, pkce: false)).value("code"))
            let fields = ["grant_type": "authorization_code", "code": code, "redirect_uri": "https://partner.test/cb", "client_id": clientID, "client_secret": secret ?? ""]
            let first = try await world.call(.POST, "/oauth/token", body: OAuthWorld.form(fields))
            #expect(first.status == 200)
            let access = try #require(first.json["access_token"] as? String)
            let replay = try await world.call(.POST, "/oauth/token", body: OAuthWorld.form(fields))
            #expect(replay.status == 400)
            #expect(replay.json["error"] as? String == "invalid_grant")
            let introspected = try await world.call(.POST, "/oauth/introspect", body: OAuthWorld.form(["token": access, "client_id": clientID, "client_secret": secret ?? ""]))
            #expect(introspected.status == 200)
            #expect(introspected.json["active"] as? Bool == false)
            #expect(introspected.json.count == 1)
        }
    }

    @Test func refreshTokensRotateAndAReuseAfterTheGraceWindowRevokesTheFamily() async throws {
        try await OAuthWorld.with { world in
            let (clientID, secret) = try await world.client()
            let code = try #require(try await world.authorize(codeQuery(clientID, pkce: false)).value("code"))
            let basic = [("Authorization", "Basic " + Data("\(clientID):\(secret ?? "")".utf8).base64EncodedString())]
            let first = try await world.call(.POST, "/oauth/token", body: OAuthWorld.form(["grant_type": "authorization_code", "code": code, "redirect_uri": "https://partner.test/cb"]), headers: basic)
            let refresh1 = try #require(first.json["refresh_token"] as? String)
            let second = try await world.call(.POST, "/oauth/token", body: OAuthWorld.form(["grant_type": "refresh_token", "refresh_token": refresh1]), headers: basic)
            #expect(second.status == 200)
            let refresh2 = try #require(second.json["refresh_token"] as? String)
            #expect(refresh2 != refresh1)
            // Widening scopes on refresh is refused.
            let wider = try await world.call(.POST, "/oauth/token", body: OAuthWorld.form(["grant_type": "refresh_token", "refresh_token": refresh2, "scope": "tickets:read tickets:write"]), headers: basic)
            #expect(wider.json["error"] as? String == "invalid_scope")
            // Within the grace window a concurrent refresh with the old token still works…
            let concurrent = try await world.call(.POST, "/oauth/token", body: OAuthWorld.form(["grant_type": "refresh_token", "refresh_token": refresh1]), headers: basic)
            #expect(concurrent.status == 200)
            let access = try #require(concurrent.json["access_token"] as? String)
            // …and the family is revoked by a reuse after it (grace shortened through the repository).
            try await Task.sleep(for: .milliseconds(50))
            let strict = OAuthGrantsProbe(world: world)
            #expect(try await strict.refresh(refresh1, clientID: clientID, secret: secret) == .failure(.invalidGrant))
            let introspected = try await world.call(.POST, "/oauth/introspect", body: OAuthWorld.form(["token": access]), headers: basic)
            #expect(introspected.json["active"] as? Bool == false)
            let afterReuse = try await world.call(.POST, "/oauth/token", body: OAuthWorld.form(["grant_type": "refresh_token", "refresh_token": refresh2]), headers: basic)
            #expect(afterReuse.json["error"] as? String == "invalid_grant")
        }
    }

    @Test func introspectionAndRevocationAnswerOnlyTheOwningClient() async throws {
        try await OAuthWorld.with { world in
            let (clientID, secret) = try await world.client()
            let (otherID, otherSecret) = try await world.client()
            let issued = try await world.call(.POST, "/oauth/token", body: OAuthWorld.form(["grant_type": "client_credentials", "client_id": clientID, "client_secret": secret ?? "", "scope": "tickets:read"]))
            #expect(issued.status == 200)
            #expect(issued.json["refresh_token"] == nil)
            let access = try #require(issued.json["access_token"] as? String)
            let active = try await world.call(.POST, "/oauth/introspect", body: OAuthWorld.form(["token": access, "client_id": clientID, "client_secret": secret ?? ""]))
            #expect(active.json["active"] as? Bool == true)
            #expect(active.json["scope"] as? String == "tickets:read")
            #expect(active.json["client_id"] as? String == clientID)
            #expect(active.json["sub"] as? String == "oauth_client:\(clientID)")
            let foreign = try await world.call(.POST, "/oauth/introspect", body: OAuthWorld.form(["token": access, "client_id": otherID, "client_secret": otherSecret ?? ""]))
            #expect(foreign.json["active"] as? Bool == false)
            // Another client cannot revoke it; its owner can, and then it is dead everywhere.
            _ = try await world.call(.POST, "/oauth/revoke", body: OAuthWorld.form(["token": access, "client_id": otherID, "client_secret": otherSecret ?? ""]))
            #expect(try await world.call(.POST, "/oauth/introspect", body: OAuthWorld.form(["token": access, "client_id": clientID, "client_secret": secret ?? ""])).json["active"] as? Bool == true)
            let revoked = try await world.call(.POST, "/oauth/revoke", body: OAuthWorld.form(["token": access, "client_id": clientID, "client_secret": secret ?? ""]))
            #expect(revoked.status == 200)
            #expect(try await world.call(.POST, "/oauth/introspect", body: OAuthWorld.form(["token": access, "client_id": clientID, "client_secret": secret ?? ""])).json["active"] as? Bool == false)
            let principal = try await world.call(.POST, "/internal/v1/principal", body: #"{"tenant":"acme","credential":"\#(access)","audience":"tickets"}"#, contentType: "application/json")
            #expect(principal.status == 401)
            // Unknown tokens revoke quietly (RFC 7009 §2.2).
            #expect(try await world.call(.POST, "/oauth/revoke", body: OAuthWorld.form(["token": "rat_nothing", "client_id": clientID, "client_secret": secret ?? ""])).status == 200)
        }
    }

    @Test func clientAuthenticationAndMalformedRequestsGetRFC6749Errors() async throws {
        try await OAuthWorld.with { world in
            let (clientID, secret) = try await world.client()
            let (publicID, _) = try await world.client(public: true)
            let (globexID, globexSecret) = try await world.client(tenant: "globex")
            let wrongBasic = [("Authorization", "Basic " + Data("\(clientID):rcs_wrong".utf8).base64EncodedString())]
            let badSecret = try await world.call(.POST, "/oauth/token", body: "grant_type=client_credentials", headers: wrongBasic)
            #expect(badSecret.status == 401)
            #expect(badSecret.json["error"] as? String == "invalid_client")
            #expect(badSecret.headers.first(name: "www-authenticate")?.hasPrefix("Basic") == true)
            // A client of globex is unknown at acme's host.
            let crossTenant = try await world.call(.POST, "/oauth/token", body: OAuthWorld.form(["grant_type": "client_credentials", "client_id": globexID, "client_secret": globexSecret ?? ""]))
            #expect(crossTenant.status == 401)
            #expect(crossTenant.json["error"] as? String == "invalid_client")
            let cases: [(String, String, String)] = [
                ("grant_type=password&username=a&password=b&client_id=\(clientID)&client_secret=\(secret ?? "")", "application/x-www-form-urlencoded", "unsupported_grant_type"),
                ("grant_type=client_credentials&grant_type=client_credentials&client_id=\(clientID)&client_secret=\(secret ?? "")", "application/x-www-form-urlencoded", "invalid_request"),
                (#"{"grant_type":"client_credentials"}"#, "application/json", "invalid_request"),
                ("client_id=\(clientID)&client_secret=\(secret ?? "")", "application/x-www-form-urlencoded", "invalid_request"),
                ("grant_type=client_credentials&scope=everything&client_id=\(clientID)&client_secret=\(secret ?? "")", "application/x-www-form-urlencoded", "invalid_scope"),
                ("grant_type=client_credentials&scope=audit:read&client_id=\(clientID)&client_secret=\(secret ?? "")", "application/x-www-form-urlencoded", "invalid_scope"),
                ("grant_type=client_credentials&client_id=\(publicID)", "application/x-www-form-urlencoded", "unauthorized_client"),
                ("grant_type=authorization_code&code=rac_x&client_id=\(publicID)", "application/x-www-form-urlencoded", "invalid_grant"),
                ("grant_type=%zz", "application/x-www-form-urlencoded", "invalid_request"),
                // Only the exact form type is read as a form (what the gateway's WAF inspects as one).
                ("grant_type=client_credentials&client_id=\(clientID)&client_secret=\(secret ?? "")", "application/x-www-form-urlencodedx", "invalid_request"),
            ]
            for (body, type, error) in cases {
                let answer = try await world.call(.POST, "/oauth/token", body: body, contentType: type)
                #expect(answer.status == 400, "\(body)")
                #expect(answer.json["error"] as? String == error, "\(body) → \(answer.json)")
                #expect(answer.json["error_description"] is String)
                #expect(!answer.text.contains("SELECT"))
            }
            // Public clients cannot introspect.
            let publicIntrospect = try await world.call(.POST, "/oauth/introspect", body: "token=x&client_id=\(publicID)")
            #expect(publicIntrospect.status == 401)
        }
    }

    @Test func metadataAndJWKSDescribeTheTenantsIssuer() async throws {
        try await OAuthWorld.with { world in
            let metadata = try await world.call(.GET, "/.well-known/oauth-authorization-server")
            #expect(metadata.status == 200)
            #expect(metadata.json["issuer"] as? String == "https://acme.eu.localhost:8443")
            #expect(metadata.json["token_endpoint"] as? String == "https://acme.eu.localhost:8443/oauth/token")
            #expect(metadata.json["code_challenge_methods_supported"] as? [String] == ["S256"])
            let jwks = try await world.call(.GET, "/.well-known/jwks.json")
            let keys = try #require(jwks.json["keys"] as? [[String: Any]])
            #expect(keys.first?["kty"] as? String == "OKP")
            #expect(keys.first?["d"] == nil)
            #expect(try await world.call(.GET, "/.well-known/oauth-authorization-server", host: "nobody.eu.localhost").status == 404)
            #expect(try await world.call(.GET, "/.well-known/oauth-authorization-server", host: "acme.eu.localhost:8443/x").status == 404)
        }
    }
}

/// Calls the refresh grant with no grace window, on the same database the service uses.
struct OAuthGrantsProbe {
    let world: OAuthWorld

    func refresh(_ token: String, clientID: String, secret: String?) async throws -> Result<TokenRepository.Issued, OAuthError> {
        let config = world.service.config
        let keys = try IdentityKeys(config: config)
        let url = try #require(config.database)
        return try await Database.withTemporaryClient(url, logger: TestDatabase.logger, timeout: .seconds(30)) { client in
            let database = Database(client: client, logger: TestDatabase.logger)
            let clients = OAuthClientRepository(database: database, region: config.region, hashKey: keys.apiKeyHashKey)
            let tenant = try #require(try await TenantRepository(database: database, region: config.region).find(slug: TenantSlug(rawValue: "acme")!))
            let client = try #require(try await clients.authenticate(clientID: clientID, secret: secret, tenant: tenant.id))
            return try await OAuthGrants(database: database, region: config.region, hashKey: keys.apiKeyHashKey, refreshGrace: 0)
                .refresh(token: token, client: client, scopes: nil)
        }
    }
}
