import Crypto
import CryptoExtras
import Foundation
@testable import Identity
import PostgresNIO
import RampartCore
import RampartSecurity
import RampartStorage
import Testing

/// OpenID Connect beyond the basic code flow, against the same real provider on loopback:
/// `prompt`, `max_age` with `auth_time` checked, `login_hint`, UserInfo (same subject only),
/// `private_key_jwt` with the tenant's own key and JWKS, and RP-initiated logout.
@Suite("OIDC: prompt, max_age, UserInfo, private_key_jwt and logout", .serialized)
struct OIDCOptionsTests {
    let oidc = OIDCTests()

    func userCount(_ f: IdentityFixture, _ tenant: Tenant) async throws -> Int { try await oidc.userCount(f, tenant) }

    @Test func promptMaxAgeAndLoginHintAreSentAndAuthTimeIsChecked() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            let flow = try await oidc.configure(f, acme, clientID: "acme-fresh") { $0.oidc?.prompt = "login"; $0.oidc?.maxAge = 300 }
            let provider = try await OIDCTests.provider.value
            guard case .redirect(let url, _) = try #require(try await flow.start(tenant: acme, audience: .staff, host: "acme.eu.localhost:8443",
                                                                                 returnTo: "/", loginHint: "ada@acme.test", origin: oidc.origin))
            else { Issue.record("not started"); return }
            let query = Dictionary(uniqueKeysWithValues: (URLComponents(string: url)?.queryItems ?? []).map { ($0.name, $0.value ?? "") })
            #expect(query["prompt"] == "login" && query["max_age"] == "300" && query["login_hint"] == "ada@acme.test")
            // A hint with control characters is not passed on.
            guard case .redirect(let plain, _) = try #require(try await flow.start(tenant: acme, audience: .staff, host: "acme.eu.localhost:8443",
                                                                                   returnTo: "/", loginHint: "ada\r\nX-Evil: 1", origin: oidc.origin))
            else { Issue.record("not started"); return }
            #expect(!plain.contains("login_hint"))

            let now = Int(Date.now.timeIntervalSince1970)
            let cases: [(String, @Sendable (inout [String: Any], inout [String: Any]) -> Void)] = [
                ("no auth_time", { _, claims in claims["auth_time"] = nil }),
                ("older than max_age", { _, claims in claims["auth_time"] = now - 1000 }),
                // Within max_age, but before the request started although prompt=login asked for a new sign-in.
                ("not reauthenticated", { _, claims in claims["auth_time"] = now - 250 }),
                ("in the future", { _, claims in claims["auth_time"] = now + 600 }),
            ]
            for (name, tamper) in cases {
                provider.update("acme-fresh") { $0.tamper = tamper }
                #expect(oidc.reason(try await oidc.signIn(flow, acme)) == "oidc_authentication_too_old", "\(name)")
            }
            #expect(try await userCount(f, acme) == 0)
            provider.update("acme-fresh") { $0.tamper = { _, claims in claims["auth_time"] = Int(Date.now.timeIntervalSince1970) } }
            guard case .signedIn = try await oidc.signIn(flow, acme) else { Issue.record("a fresh sign-in was refused"); return }
            // What the provider itself received on that sign-in.
            let received = provider.lastAuthorization(of: "acme-fresh")
            #expect(received?["prompt"] == "login" && received?["max_age"] == "300", "\(received ?? [:])")

            var bad = SAMLSignInTests.input { $0.samlMetadata = nil }
            for (prompt, maxAge) in [("none login", 60), ("sometimes", 60), ("login", -1), ("login", 40_000_000)] {
                bad.oidc = .init(issuer: provider.issuer, clientID: "x")
                bad.oidc?.prompt = prompt
                bad.oidc?.maxAge = maxAge
                guard case .failure(let problems) = bad.configuration(for: .staff) else { Issue.record("\(prompt) \(maxAge) accepted"); continue }
                #expect(problems.fields["oidc.prompt"] != nil || problems.fields["oidc.max_age"] != nil)
            }
        }
    }

    @Test func userInfoIsReadOnlyWhenConfiguredAndOnlyForTheSameSubject() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            var client = OIDCTests.agent
            client.user["email"] = "ua@acme.test"
            client.userInfo = ["name": "Ada from UserInfo", "email": "ua@acme.test"]
            client.userInfoGroups = ["helpdesk-admins"]
            client.userInfoSubject = "someone-else"
            let flow = try await oidc.configure(f, acme, clientID: "acme-userinfo", client: client) { $0.oidc?.userInfo = true }
            let provider = try await OIDCTests.provider.value
            // UserInfo for another subject: nothing of it is used, and nobody signs in.
            #expect(oidc.reason(try await oidc.signIn(flow, acme)) == "oidc_userinfo_subject_mismatch")
            #expect(try await userCount(f, acme) == 0)
            provider.update("acme-userinfo") { $0.userInfoSubject = nil }
            guard case .signedIn(let user, _, _, _, _) = try await oidc.signIn(flow, acme) else { Issue.record("refused"); return }
            #expect(user.name == "Ada from UserInfo" && user.role == .admin)
            // Without the option, UserInfo is never asked: name and role come from the ID token.
            var plainClient = client
            plainClient.user = ["sub": "okta-plain", "email": "plain@acme.test", "name": "From the token"]
            let plain = try await oidc.configure(f, acme, clientID: "acme-plain", client: plainClient)
            guard case .signedIn(let other, _, _, _, _) = try await oidc.signIn(plain, acme) else { Issue.record("refused"); return }
            #expect(other.name == "From the token" && other.role == .agent)
        }
    }

    @Test func privateKeyJWTAuthenticatesWithTheTenantsOwnKeyAsPublishedInItsJWKS() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            var client = OIDCTests.agent
            client.authentication = .privateKeyJWT
            let flow = try await oidc.configure(f, acme, clientID: "acme-pkjwt", client: client) {
                $0.oidc?.clientAuthentication = .privateKeyJWT
                $0.oidc?.clientSecret = nil
            }
            let provider = try await OIDCTests.provider.value
            let keys = flow.configurations.keys
            // The provider knows no key yet: the token endpoint refuses the client.
            #expect(oidc.reason(try await oidc.signIn(flow, acme)) == "oidc_token_exchange_failed")
            func register() async throws {
                let jwks = try JSONSerialization.data(withJSONObject: try OIDCClientAssertion.jwks(try await keys.active(.oidcClient, tenant: acme.id)))
                guard let keys = (try JSONSerialization.jsonObject(with: jwks) as? [String: [[String: Any]]])?["keys"] else {
                    throw TestSetupError("the JWKS has no keys")
                }
                var published: [String: _RSA.Signing.PublicKey] = [:]
                for jwk in keys {
                    // Public parts only.
                    #expect(jwk["d"] == nil && jwk["p"] == nil && jwk["q"] == nil && jwk["alg"] as? String == "RS256")
                    guard let n = Base64URL.decode(jwk["n"] as? String ?? ""), let e = Base64URL.decode(jwk["e"] as? String ?? ""),
                          let kid = jwk["kid"] as? String
                    else { throw TestSetupError("a JWK lacks n, e or kid") }
                    published[kid] = try _RSA.Signing.PublicKey(n: n, e: e)
                }
                provider.update("acme-pkjwt") { $0.clientKeys = published }
            }
            try await register()
            guard case .signedIn(let user, _, _, _, _) = try await oidc.signIn(flow, acme) else { Issue.record("refused"); return }
            #expect(user.email.rawValue == "ada@acme.test")
            // No secret is kept for this client, and none is shown.
            #expect(try await flow.configurations.load(tenant: acme.id, audience: .staff)?.oidc?.sealedSecret == nil)

            // After a rotation the new key signs; a provider still holding only the old one refuses until it rereads the JWKS.
            let old = try await keys.active(.oidcClient, tenant: acme.id)
            let rotated = try await keys.rotate(.oidcClient, tenant: acme.id, actor: IdentityFixture.operatorActor, requestID: nil)
            #expect(rotated.count == 2 && rotated[1].id == old[0].id && rotated[0].id != old[0].id)
            #expect(oidc.reason(try await oidc.signIn(flow, acme)) == "oidc_token_exchange_failed")
            try await register()
            guard case .signedIn = try await oidc.signIn(flow, acme) else { Issue.record("refused after rotation"); return }
            let retired = try await keys.retirePrevious(.oidcClient, tenant: acme.id, actor: IdentityFixture.operatorActor, requestID: nil)
            #expect(retired.map(\.id) == [rotated[0].id])
            let events = try await f.outbox(acme)
            #expect(events.contains { $0.contains("sso_key.rotated") } && events.contains { $0.contains("sso_key.retired") })
            #expect(!events.contains { $0.contains("PRIVATE KEY") })
        }
    }

    @Test func rpInitiatedLogoutSendsTheIDTokenHintToTheEndSessionEndpointOnce() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            let flow = try await oidc.configure(f, acme, clientID: "acme-logout") { $0.oidc?.logout = true }
            let provider = try await OIDCTests.provider.value
            guard case .signedIn(_, _, let sessionID, _, _) = try await oidc.signIn(flow, acme) else { Issue.record("refused"); return }
            let stored = try await f.database.withTenant(acme.id) {
                try await $0.values("SELECT sealed_id_token FROM oidc_sessions", as: Data.self)
            }
            // Sealed at rest: not a readable JWT.
            #expect(stored.count == 1 && !String(decoding: stored[0], as: UTF8.self).contains("eyJ"))
            let url = try #require(try await flow.endSessionURL(sessionID: sessionID, tenant: acme.id, host: "acme.eu.localhost:8443"))
            let components = try #require(URLComponents(string: url))
            #expect(url.hasPrefix(provider.issuer + "/logout?"))
            let query = Dictionary(uniqueKeysWithValues: (components.queryItems ?? []).map { ($0.name, $0.value ?? "") })
            #expect(query["post_logout_redirect_uri"] == "https://acme.eu.localhost:8443/login" && query["client_id"] == "acme-logout")
            let hint = try OIDCIDToken.parse(try #require(query["id_token_hint"]))
            #expect(hint.payload["sub"] as? String == "okta-00u1" && hint.audiences == ["acme-logout"])
            // Used once; another tenant's session id finds nothing.
            #expect(try await flow.endSessionURL(sessionID: sessionID, tenant: acme.id, host: "acme.eu.localhost:8443") == nil)
            // Without the option nothing is kept, and signing out stays local.
            let local = try await oidc.configure(f, acme, clientID: "acme-local")
            guard case .signedIn(_, _, let localSession, _, _) = try await oidc.signIn(local, acme) else { Issue.record("refused"); return }
            #expect(try await local.endSessionURL(sessionID: localSession, tenant: acme.id, host: "acme.eu.localhost:8443") == nil)
            #expect(try await f.database.withTenant(acme.id) { try await $0.values("SELECT count(*)::int FROM oidc_sessions", as: Int.self) } == [0])
        }
    }

    /// Sessions that end without a sign-out lose their sealed ID token to the sweep: idle too
    /// long, past their absolute lifetime, or revoked go; a live one stays; a run for one tenant
    /// leaves another tenant's rows, and the service's run over every tenant takes those too.
    @Test func sweepDeletesTheIDTokensOfEndedSessionsOnlyAndPerTenant() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme"), globex = try await f.tenant("globex")
            let sessions = SessionRepository(database: f.database)
            // A session of a new agent with an ID-token row as the callback stores it.
            @Sendable func signedIn(_ tenant: Tenant, _ email: String) async throws -> (token: String, id: UUID) {
                let user = try await f.user(tenant, email, role: .agent)
                return try await f.database.withTenant(tenant.id) { connection in
                    let session = try await SessionRepository.start(for: user, method: "sso", ip: nil, userAgent: nil, settings: SecuritySettings(),
                                                                    on: connection, logger: TestDatabase.logger)
                    try await connection.query("""
                        INSERT INTO oidc_sessions (session_id, tenant_id, audience, issuer, sealed_id_token)
                        VALUES (\(session.id), \(tenant.id.rawValue), 'staff', 'https://idp.test', \(Data("sealed".utf8)))
                        """, logger: TestDatabase.logger)
                    return (session.token, session.id)
                }
            }
            @Sendable func remaining(_ tenant: Tenant) async throws -> Set<UUID> {
                Set(try await f.database.withTenant(tenant.id) { try await $0.values("SELECT session_id FROM oidc_sessions", as: UUID.self) })
            }
            @Sendable func age(_ tenant: Tenant, _ session: UUID, _ column: String) async throws {
                try await f.database.withTenant(tenant.id) { connection in
                    try await connection.query("""
                        UPDATE sessions SET \(unescaped: column) = now() - interval '1 minute' WHERE id = \(session)
                        """, logger: TestDatabase.logger)
                }
            }
            let live = try await signedIn(acme, "live@acme.test"), idle = try await signedIn(acme, "idle@acme.test")
            let old = try await signedIn(acme, "old@acme.test"), revoked = try await signedIn(acme, "revoked@acme.test")
            let other = try await signedIn(globex, "idle@globex.test")
            try await age(acme, idle.id, "idle_expires_at")
            try await age(acme, old.id, "absolute_expires_at")
            try await age(globex, other.id, "idle_expires_at")
            try await sessions.revoke(sessionToken: revoked.token, tenant: acme.id)

            let sweeper = OIDCSessionSweeper(database: f.database, tenants: f.tenants, logger: TestDatabase.logger)
            #expect(try await sweeper.sweep(acme.id) == 3)
            #expect(try await remaining(acme) == [live.id])
            #expect(try await remaining(globex) == [other.id])
            #expect(try await sessions.resolve(token: live.token, tenant: acme.id) != nil)
            await sweeper.sweepAll()
            #expect(try await remaining(globex).isEmpty)
            #expect(try await remaining(acme) == [live.id])
        }
    }
}
