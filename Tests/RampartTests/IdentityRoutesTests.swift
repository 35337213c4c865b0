import AsyncHTTPClient
import Foundation
@testable import Identity
import NIOCore
import NIOHTTP1
import RampartCore
import RampartSecurity
import RampartTransport
import Testing

@Suite("Identity: operator API and principal endpoint over mutual TLS")
struct IdentityRoutesTests {
    let eu = Region(rawValue: "eu")!

    func withIdentity<R: Sendable>(signingKey: PrincipalSigningKey = .generate(), _ body: @escaping @Sendable (RunningService, TestPKI) async throws -> R) async throws -> R {
        let pki = try TestPKI()
        return try await RunningService.with(
            .identity, region: eu, pki: pki, signingKey: signingKey, database: try await TestDatabase.make(),
            migrations: IdentityMigrations.all,
            routes: { router, runtime in try IdentityService.register(on: router, runtime: runtime, keys: try IdentityKeys(config: runtime.config)) }
        ) { service in try await body(service, pki) }
    }

    /// Sends `body` as `identity`, returning status and parsed JSON.
    func send(_ pki: TestPKI, as identity: CallerIdentity, _ method: HTTPMethod, _ url: String, json: String?, contentType: String = "application/json", headers: [(String, String)] = []) async throws -> (Int, [String: Any]) {
        try await sendWithHeaders(pki, as: identity, method, url, json: json, contentType: contentType, headers: headers).0
    }

    func sendWithHeaders(_ pki: TestPKI, as identity: CallerIdentity, _ method: HTTPMethod, _ url: String, json: String?, contentType: String = "application/json", headers: [(String, String)] = []) async throws -> ((Int, [String: Any]), HTTPHeaders) {
        let client = InternalClient(tls: try InternalTLS(files: try pki.files(for: identity)))
        do {
            let reply = try await client.send(method, url: url, body: json.map { Data($0.utf8) }, contentType: contentType, headers: headers)
            try await client.shutdown()
            return ((reply.status, (try? JSONSerialization.jsonObject(with: reply.body) as? [String: Any]) ?? [:]), reply.headers)
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    @Test func operatorCreatesATenantUserAndKeyThatResolvesToAPrincipal() async throws {
        try await withIdentity { service, pki in
            let op = CallerIdentity.operator("alice")
            let base = service.baseURL + "/internal/v1/operator/tenants"
            let (created, tenant) = try await send(pki, as: op, .POST, base, json: #"{"slug":"acme","display_name":"Acme","plan":"business"}"#)
            #expect(created == 201)
            #expect(tenant["slug"] as? String == "acme")
            #expect(tenant["region"] as? String == "eu")
            let (userStatus, user) = try await send(pki, as: op, .POST, base + "/acme/users", json: #"{"email":"ada@acme.test","name":"Ada","role":"admin"}"#)
            #expect(userStatus == 201)
            let password = try #require(user["password"] as? String)
            #expect(password.count == 20)
            let (keyStatus, key) = try await send(pki, as: op, .POST, base + "/acme/api-keys", json: #"{"user_email":"ada@acme.test","name":"ci","scopes":["tickets:read"]}"#)
            #expect(keyStatus == 201)
            let credential = try #require(key["key"] as? String)
            #expect((key["record"] as? [String: Any])?["secret"] == nil)

            let resolve = #"{"tenant":"acme","credential":"\#(credential)","audience":"tickets","client_ip":"192.0.2.1"}"#
            let (resolved, principal) = try await send(pki, as: .service(.gateway, eu), .POST, service.baseURL + "/internal/v1/principal", json: resolve)
            #expect(resolved == 200)
            #expect(principal["scopes"] as? [String] == ["tickets:read"])
            #expect((principal["principal"] as? String)?.split(separator: ".").count == 3)

            // Only the gateway may resolve credentials; only operators may use the operator API.
            let (fromTickets, _) = try await send(pki, as: .service(.tickets, eu), .POST, service.baseURL + "/internal/v1/principal", json: resolve)
            #expect(fromTickets == 403)
            let (fromGateway, _) = try await send(pki, as: .service(.gateway, eu), .POST, base, json: #"{"slug":"evil","display_name":"Evil"}"#)
            #expect(fromGateway == 403)
            let (tenants, list) = try await send(pki, as: op, .GET, base, json: nil)
            #expect(tenants == 200)
            #expect((list["data"] as? [[String: Any]])?.map { $0["slug"] as? String } == ["acme"])
        }
    }

    @Test func badInputGetsPreciseProblemsAndStoresNothing() async throws {
        try await withIdentity { service, pki in
            let op = CallerIdentity.operator("alice")
            let base = service.baseURL + "/internal/v1/operator/tenants"
            let cases: [(String, String, Int, String)] = [
                (#"{"slug":"status","display_name":"X"}"#, "application/json", 422, "invalid_input"),
                (#"{"slug":"Ab","display_name":"X"}"#, "application/json", 422, "invalid_input"),
                (#"{"slug":"good-one","display_name":""}"#, "application/json", 422, "invalid_input"),
                (#"{"slug":"good-one","display_name":"X","plan":"free-forever"}"#, "application/json", 400, "malformed_body"),
                (#"{"slug": "good-one""#, "application/json", 400, "malformed_body"),
                (#"slug=good-one"#, "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
                (#"{"slug":"good-one","display_name":"X"}"#, "application/jsonx", 415, "unsupported_media_type"),
                ("\u{FEFF}" + #"{"slug":"good-one","display_name":"X"}"#, "application/json", 400, "malformed_body"),
                (#"{"slug":"good-one","display_name":"\#(String(repeating: "x", count: 100_000))"}"#, "application/json", 413, "body_too_large"),
            ]
            for (body, type, status, code) in cases {
                let (got, problem) = try await send(pki, as: op, .POST, base, json: body, contentType: type)
                #expect(got == status, "\(body)")
                #expect(problem["code"] as? String == code, "\(body)")
            }
            let (_, list) = try await send(pki, as: op, .GET, base, json: nil)
            #expect((list["data"] as? [Any])?.isEmpty == true)
            let (missing, _) = try await send(pki, as: op, .POST, base + "/nobody/users", json: #"{"email":"a@b.test","name":"A","role":"agent"}"#)
            #expect(missing == 404)
        }
    }

    @Test func signInThroughTheGatewaySetsAHardenedSessionCookie() async throws {
        try await withIdentity { service, pki in
            let op = CallerIdentity.operator("alice")
            let base = service.baseURL + "/internal/v1/operator/tenants"
            _ = try await send(pki, as: op, .POST, base, json: #"{"slug":"acme","display_name":"Acme"}"#)
            let (created, _) = try await send(pki, as: op, .POST, base + "/acme/users", json: #"{"email":"ada@acme.test","name":"Ada","role":"admin","password":"violet submarine harbour 42"}"#)
            #expect(created == 201)
            let gateway = CallerIdentity.service(.gateway, eu)
            let login = #"{"email":"ada@acme.test","password":"violet submarine harbour 42"}"#
            let forwarded = [("X-Forwarded-Host", "acme.eu.localhost:8443"), ("X-Forwarded-For", "192.0.2.44")]
            let ((status, body), headers) = try await sendWithHeaders(pki, as: gateway, .POST, service.baseURL + "/auth/password", json: login, headers: forwarded)
            #expect(status == 200)
            #expect((body["user"] as? [String: Any])?["email"] as? String == "ada@acme.test")
            let cookie = try #require(headers.first(name: "set-cookie"))
            #expect(cookie.hasPrefix("__Host-rampart_session="))
            for attribute in ["; Path=/", "; Secure", "; HttpOnly", "; SameSite=Lax"] { #expect(cookie.contains(attribute)) }
            #expect(!cookie.contains("Domain="))
            let token = String(cookie.dropFirst("__Host-rampart_session=".count).prefix { $0 != ";" })
            let (resolved, principal) = try await send(pki, as: gateway, .POST, service.baseURL + "/internal/v1/principal",
                                                       json: #"{"tenant":"acme","session":"\#(token)","audience":"tickets"}"#)
            #expect(resolved == 200, "\(principal)")
            #expect(principal["scopes"] as? [String] == ["audit:read", "security:write", "tickets:read", "tickets:write", "users:write"])

            let (wrong, problem) = try await send(pki, as: gateway, .POST, service.baseURL + "/auth/password",
                                                  json: #"{"email":"ada@acme.test","password":"nope nope nope"}"#, headers: forwarded)
            #expect(wrong == 401)
            #expect(problem["code"] as? String == "invalid_credentials")
            let (otherRegion, _) = try await send(pki, as: gateway, .POST, service.baseURL + "/auth/password", json: login, headers: [("X-Forwarded-Host", "acme.us.localhost")])
            #expect(otherRegion == 404)
            let (unknownTenant, unknownProblem) = try await send(pki, as: gateway, .POST, service.baseURL + "/auth/password", json: login, headers: [("X-Forwarded-Host", "nobody.eu.localhost")])
            #expect(unknownTenant == 401)
            #expect(unknownProblem["code"] as? String == "invalid_credentials")
            let (notGateway, _) = try await send(pki, as: .service(.tickets, eu), .POST, service.baseURL + "/auth/password", json: login, headers: forwarded)
            #expect(notGateway == 403)
        }
    }

    @Test func signedInUserEnrollsTOTPAndThenNeedsItToSignIn() async throws {
        try await withIdentity { service, pki in
            let op = CallerIdentity.operator("alice")
            let gateway = CallerIdentity.service(.gateway, eu)
            let base = service.baseURL + "/internal/v1/operator/tenants"
            _ = try await send(pki, as: op, .POST, base, json: #"{"slug":"acme","display_name":"Acme"}"#)
            _ = try await send(pki, as: op, .POST, base + "/acme/users", json: #"{"email":"ada@acme.test","name":"Ada","role":"agent","password":"violet submarine harbour 42"}"#)
            let forwarded = [("X-Forwarded-Host", "acme.eu.localhost")]
            let login = #"{"email":"ada@acme.test","password":"violet submarine harbour 42"}"#
            let (_, headers) = try await sendWithHeaders(pki, as: gateway, .POST, service.baseURL + "/auth/password", json: login, headers: forwarded)
            let cookie = try #require(headers.first(name: "set-cookie"))
            let token = String(cookie.dropFirst("__Host-rampart_session=".count).prefix { $0 != ";" })
            let (_, resolved) = try await send(pki, as: gateway, .POST, service.baseURL + "/internal/v1/principal",
                                               json: #"{"tenant":"acme","session":"\#(token)","audience":"identity"}"#)
            let principal = try #require(resolved["principal"] as? String)
            let csrf = try #require(resolved["csrf_token"] as? String)
            let session = [("X-Rampart-Principal", principal), ("X-CSRF-Token", csrf)]

            let (meStatus, me) = try await send(pki, as: gateway, .GET, service.baseURL + "/api/v1/me", json: nil, headers: [("X-Rampart-Principal", principal)])
            #expect(meStatus == 200)
            #expect((me["user"] as? [String: Any])?["email"] as? String == "ada@acme.test")
            #expect(me["authentication_method"] as? String == "password")
            #expect((me["tenant"] as? [String: Any])?["slug"] as? String == "acme")
            #expect(me["kind"] as? String == "agent")
            #expect((me["session_id"] as? String)?.count == 36)

            // Without the principal the route does not exist for the caller.
            let reauth = #"{"current_password":"violet submarine harbour 42"}"#
            let (anonymous, _) = try await send(pki, as: gateway, .POST, service.baseURL + "/api/v1/me/totp", json: reauth)
            #expect(anonymous == 401)
            // A session alone is not enough to add a factor: the password is asked again.
            // A cookie-authenticated change without the session's CSRF token is refused.
            let (noCSRF, csrfProblem) = try await send(pki, as: gateway, .POST, service.baseURL + "/api/v1/me/totp", json: reauth, headers: [("X-Rampart-Principal", principal)])
            #expect(noCSRF == 403)
            #expect(csrfProblem["code"] as? String == "csrf_token_invalid")
            let (forgedCSRF, _) = try await send(pki, as: gateway, .POST, service.baseURL + "/api/v1/me/totp", json: reauth,
                                                 headers: [("X-Rampart-Principal", principal), ("X-CSRF-Token", String(repeating: "A", count: 43))])
            #expect(forgedCSRF == 403)
            let (noPassword, _) = try await send(pki, as: gateway, .POST, service.baseURL + "/api/v1/me/totp", json: #"{"current_password":"guess"}"#, headers: session)
            #expect(noPassword == 422)
            let ((enrolled, enrollment), enrollHeaders) = try await sendWithHeaders(pki, as: gateway, .POST, service.baseURL + "/api/v1/me/totp", json: reauth, headers: session)
            #expect(enrollHeaders.first(name: "cache-control") == "no-store")
            #expect(enrolled == 200)
            let uri = try #require(enrollment["uri"] as? String)
            #expect(uri.hasPrefix("otpauth://totp/"))
            let secretText = try #require(enrollment["secret"] as? String)
            let totp = TOTP(secret: try #require(Self.base32Decode(secretText)))
            let (wrong, _) = try await send(pki, as: gateway, .POST, service.baseURL + "/api/v1/me/totp/confirm", json: #"{"code":"000000"}"#, headers: session)
            #expect(wrong == 422)
            let enrolledStep = totp.step(at: .now)
            let code = totp.code(step: enrolledStep)
            let (confirmed, codes) = try await send(pki, as: gateway, .POST, service.baseURL + "/api/v1/me/totp/confirm", json: #"{"code":"\#(code)"}"#, headers: session)
            #expect(confirmed == 200)
            #expect((codes["recovery_codes"] as? [String])?.count == 10)

            let ((again, challenge), againHeaders) = try await sendWithHeaders(pki, as: gateway, .POST, service.baseURL + "/auth/password", json: login, headers: forwarded)
            #expect(again == 200)
            #expect(challenge["status"] as? String == "second_factor_required")
            #expect(againHeaders.first(name: "set-cookie") == nil)
            let next = totp.code(step: enrolledStep + 1)
            let ((done, _), doneHeaders) = try await sendWithHeaders(pki, as: gateway, .POST, service.baseURL + "/auth/totp",
                                                                     json: #"{"challenge":"\#(challenge["challenge"] as? String ?? "")","code":"\#(next)"}"#, headers: forwarded)
            #expect(done == 200)
            #expect(doneHeaders.first(name: "set-cookie")?.hasPrefix("__Host-rampart_session=") == true)

            // Removing the factor needs the password and a code (here a recovery code).
            let recovery = try #require((codes["recovery_codes"] as? [String])?.first)
            let (removedWithoutCode, _) = try await send(pki, as: gateway, .DELETE, service.baseURL + "/api/v1/me/totp", json: reauth, headers: session)
            #expect(removedWithoutCode == 422)
            let (removed, _) = try await send(pki, as: gateway, .DELETE, service.baseURL + "/api/v1/me/totp",
                                              json: #"{"current_password":"violet submarine harbour 42","code":"\#(recovery)"}"#, headers: session)
            #expect(removed == 204)
            let ((plain, plainBody), _) = try await sendWithHeaders(pki, as: gateway, .POST, service.baseURL + "/auth/password", json: login, headers: forwarded)
            #expect(plain == 200)
            #expect(plainBody["status"] == nil)

            // Signing out ends that session: it no longer resolves to a principal.
            let ((loggedOut, _), logoutHeaders) = try await sendWithHeaders(pki, as: gateway, .POST, service.baseURL + "/auth/logout", json: nil, headers: session)
            #expect(loggedOut == 204)
            #expect(logoutHeaders.first(name: "set-cookie")?.contains("Max-Age=0") == true)
            let (afterLogout, _) = try await send(pki, as: gateway, .POST, service.baseURL + "/internal/v1/principal",
                                                  json: #"{"tenant":"acme","session":"\#(token)","audience":"identity"}"#)
            #expect(afterLogout == 401)
        }
    }

    static func base32Decode(_ text: String) -> Data? {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        var bits = 0, buffer = 0
        var bytes: [UInt8] = []
        for character in text {
            guard let value = alphabet.firstIndex(of: character) else { return nil }
            buffer = (buffer << 5) | value
            bits += 5
            if bits >= 8 {
                bytes.append(UInt8((buffer >> (bits - 8)) & 0xFF))
                bits -= 8
            }
        }
        return Data(bytes)
    }

    @Test func tenantAdminsManageTheirOwnUsersOnly() async throws {
        let key = PrincipalSigningKey.generate()
        try await withIdentity(signingKey: key) { service, pki in
            let op = CallerIdentity.operator("alice")
            let gateway = CallerIdentity.service(.gateway, eu)
            let base = service.baseURL + "/internal/v1/operator/tenants"
            let (_, acme) = try await send(pki, as: op, .POST, base, json: #"{"slug":"acme","display_name":"Acme"}"#)
            let (_, globex) = try await send(pki, as: op, .POST, base, json: #"{"slug":"globex","display_name":"Globex"}"#)
            let (_, outsider) = try await send(pki, as: op, .POST, base + "/globex/users", json: #"{"email":"bob@globex.test","name":"Bob","role":"agent"}"#)
            let outsiderID = try #require((outsider["user"] as? [String: Any])?["id"] as? String)
            func principal(_ tenant: [String: Any], role: String, scopes: [String], signer: PrincipalSigningKey? = nil) throws -> String {
                try PrincipalToken.sign(Principal(
                    tenantID: TenantID(tenant["id"] as? String ?? "")!, tenantSlug: TenantSlug(rawValue: tenant["slug"] as? String ?? "")!,
                    region: eu, subject: "user:\(UUID().uuidString.lowercased())", kind: role == "admin" ? .admin : .agent,
                    roles: [role], scopes: scopes, authenticationMethod: .password
                ), audience: .identity, key: signer ?? key)
            }
            let admin = [("X-Rampart-Principal", try principal(acme, role: "admin", scopes: ["users:write", "tickets:read", "tickets:write"]))]
            let users = service.baseURL + "/api/v1/users"
            // A caller cannot mint a user more powerful than itself (admin needs audit:read, security:write).
            let (escalation, escalationProblem) = try await send(pki, as: gateway, .POST, users, json: #"{"email":"boss@acme.test","name":"Boss","role":"admin"}"#, headers: admin)
            #expect(escalation == 403)
            #expect(escalationProblem["code"] as? String == "role_exceeds_caller")
            for email in ["c@acme.test", "a@acme.test", "b@acme.test"] {
                let (created, body) = try await send(pki, as: gateway, .POST, users, json: #"{"email":"\#(email)","name":"Someone","role":"agent"}"#, headers: admin)
                #expect(created == 201)
                #expect((body["password"] as? String)?.count == 20)
            }
            let (_, first) = try await send(pki, as: gateway, .GET, users + "?limit=2", json: nil, headers: admin)
            #expect((first["data"] as? [[String: Any]])?.map { $0["email"] as? String } == ["a@acme.test", "b@acme.test"])
            let next = try #require((first["links"] as? [String: Any])?["next"] as? String)
            let (_, second) = try await send(pki, as: gateway, .GET, service.baseURL + next, json: nil, headers: admin)
            #expect((second["data"] as? [[String: Any]])?.map { $0["email"] as? String } == ["c@acme.test"])
            #expect((second["links"] as? [String: Any])?["next"] == nil)

            // Another tenant's user is invisible, whatever id is sent.
            let (crossTenant, problem) = try await send(pki, as: gateway, .POST, users + "/\(outsiderID)/deactivate", json: nil, headers: admin)
            #expect(crossTenant == 404)
            #expect(problem["code"] as? String == "user_not_found")
            // Agents may not manage users; a principal signed by another key is not a principal.
            let agent = [("X-Rampart-Principal", try principal(acme, role: "agent", scopes: ["tickets:read", "tickets:write"]))]
            let (forbidden, _) = try await send(pki, as: gateway, .GET, users, json: nil, headers: agent)
            #expect(forbidden == 403)
            let forged = [("X-Rampart-Principal", try principal(acme, role: "admin", scopes: ["users:write"], signer: .generate()))]
            let (unauthenticated, _) = try await send(pki, as: gateway, .GET, users, json: nil, headers: forged)
            #expect(unauthenticated == 401)
            let (_, globexList) = try await send(pki, as: gateway, .GET, users, json: nil, headers: [("X-Rampart-Principal", try principal(globex, role: "admin", scopes: ["users:write"]))])
            #expect((globexList["data"] as? [[String: Any]])?.map { $0["email"] as? String } == ["bob@globex.test"])
        }
    }

    @Test func refusedCredentialsAllLookTheSame() async throws {
        try await withIdentity { service, pki in
            let url = service.baseURL + "/internal/v1/principal"
            var bodies: Set<String> = []
            for (tenant, credential) in [("acme", "rk_0123456789abcdef_" + String(repeating: "A", count: 43)), ("nobody", "rk_x"), ("acme", "not-a-key")] {
                let (status, problem) = try await send(pki, as: .service(.gateway, eu), .POST, url, json: #"{"tenant":"\#(tenant)","credential":"\#(credential)","audience":"tickets"}"#)
                #expect(status == 401)
                bodies.insert(problem["code"] as? String ?? "")
            }
            #expect(bodies == ["credential_refused"])
        }
    }
}
