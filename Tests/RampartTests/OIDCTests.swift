import Foundation
@testable import Identity
import RampartCore
import RampartSecurity
import RampartStorage
import Testing

/// OpenID Connect against a real provider on loopback over TLS (`OIDCTestProvider`, signing with
/// its own RSA and P-256 keys) and real PostgreSQL: discovery pinned to the configured issuer,
/// authorization code with PKCE, `state` bound to the browser and used once, and the ID-token
/// attack catalogue — wrong `iss`/`aud`/`azp`, expired, future, nonce mismatch and replay,
/// `alg: none`, HS256 keyed with the public key, unknown `kid`, forged signatures, another
/// tenant's client and a code issued for another redirect URI. Nothing is created by a refusal.
@Suite("OIDC: relying party, the attack catalogue and sign-in", .serialized)
struct OIDCTests {
    static let pki = try! TestPKI()
    static let provider = Task { try await OIDCTestProvider.start(pki: pki) }
    static let secret = "client secret of the acme helpdesk app"
    let origin = PasswordSignIn.Origin(ip: "192.0.2.40", userAgent: "tests", requestID: nil)

    /// The agent the provider signs in unless a test says otherwise.
    static let agent = OIDCTestProvider.Client(secret: secret, user: ["sub": "okta-00u1", "email": "ada@acme.test", "name": "Ada Lovelace"],
                                               groups: ["helpdesk-agents"])

    /// A sign-in flow for `tenant` whose staff use the test provider as `clientID` (registered there as `client`).
    func configure(
        _ f: IdentityFixture, _ tenant: Tenant, clientID: String, client: OIDCTestProvider.Client = agent,
        provider own: OIDCTestProvider? = nil, _ change: (inout SSOConfigurationInput) -> Void = { _ in }
    ) async throws -> OIDCSignIn {
        let provider = if let own { own } else { try await Self.provider.value }
        provider.register(clientID, client)
        let store = try FileKeyStore(directory: FileManager.default.temporaryDirectory.appendingPathComponent("rampart-ks-\(UUID().uuidString)"))
        let configurations = SSOConfigurationRepository(database: f.database, region: tenant.region, keyring: TenantKeyring(keys: .generate(), store: store))
        var input = SAMLSignInTests.input { $0.samlMetadata = nil }
        input.oidc = .init(issuer: provider.issuer, clientID: clientID, clientSecret: client.secret, clientAuthentication: client.authentication)
        change(&input)
        try await configurations.save(try input.configuration(for: .staff).get(), clientSecret: input.oidc?.clientSecret, tenant: tenant.id,
                                      actor: IdentityFixture.operatorActor, requestID: nil)
        return OIDCSignIn(database: f.database, region: tenant.region, configurations: configurations,
                          providers: OIDCProviderDirectory(trustRootsFile: Self.pki.caPath))
    }

    /// The provider's answer to a started sign-in: where it sends the browser back.
    struct Callback {
        var code: String?
        var state: String?
        var browserToken: String
    }

    /// Starts a sign-in at `host` and follows the browser to the provider's authorization endpoint.
    func authorize(_ flow: OIDCSignIn, _ tenant: Tenant, host: String = "acme.eu.localhost:8443") async throws -> Callback {
        guard case .redirect(let url, let browserToken) = try #require(try await flow.start(tenant: tenant, audience: .staff, host: host,
                                                                                             returnTo: "/tickets", origin: origin))
        else { throw TestSetupError("the sign-in did not start") }
        let authorization = try #require(URLComponents(string: url))
        let query = Dictionary(uniqueKeysWithValues: (authorization.queryItems ?? []).map { ($0.name, $0.value ?? "") })
        #expect(query["code_challenge_method"] == "S256" && query["code_challenge"]?.count == 43 && query["redirect_uri"] == "https://\(host)/auth/oidc/callback")
        #expect(query["scope"]?.split(separator: " ").contains("openid") == true && query["nonce"]?.count == 43 && query["state"]?.count == 43)
        let reply = try await EdgeClient.request(url, ca: Self.pki.caPath)
        #expect(reply.status == 302, "\(reply.text)")
        let back = try #require(reply.headers["location"].flatMap(URLComponents.init(string:)))
        #expect(back.host == String(host.prefix { $0 != ":" }) && back.path == "/auth/oidc/callback")
        let answer = Dictionary(uniqueKeysWithValues: (back.queryItems ?? []).map { ($0.name, $0.value ?? "") })
        return Callback(code: answer["code"], state: answer["state"], browserToken: browserToken)
    }

    func finish(_ flow: OIDCSignIn, _ tenant: Tenant, _ callback: Callback, now: Date = .now) async throws -> FederatedOutcome {
        try await flow.finish(tenant: tenant, code: callback.code, state: callback.state, providerError: nil, browserToken: callback.browserToken,
                              origin: origin, now: now)
    }

    func signIn(_ flow: OIDCSignIn, _ tenant: Tenant) async throws -> FederatedOutcome {
        try await finish(flow, tenant, try await authorize(flow, tenant))
    }

    func reason(_ outcome: FederatedOutcome) -> String? {
        if case .refused(let reason) = outcome { return reason }
        return nil
    }

    /// The tenant's outbox events of `action`, oldest first, as JSON objects.
    func events(_ f: IdentityFixture, _ tenant: Tenant, _ action: String) async throws -> [[String: Any]] {
        try await f.outbox(tenant).compactMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .filter { $0["action"] as? String == action }
    }

    func userCount(_ f: IdentityFixture, _ tenant: Tenant) async throws -> Int {
        try await f.database.withTenant(tenant.id) { try await $0.values("SELECT count(*)::int FROM users", as: Int.self) }.first ?? -1
    }

    @Test func signsInWithPKCEAndTheMappedRoleInTheBrowserThatStartedItAndOnlyOnce() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            let flow = try await configure(f, acme, clientID: "acme-once")
            let callback = try await authorize(flow, acme)
            // Another browser presenting the same state and code, no state, no cookie: refused, and the request survives them.
            #expect(reason(try await finish(flow, acme, Callback(code: callback.code, state: callback.state, browserToken: SessionRepository.newToken())))
                    == "oidc_unknown_or_consumed_state")
            #expect(reason(try await finish(flow, acme, Callback(code: callback.code, state: nil, browserToken: callback.browserToken)))
                    == "oidc_unknown_or_consumed_state")
            #expect(reason(try await flow.finish(tenant: acme, code: callback.code, state: callback.state, providerError: nil, browserToken: nil,
                                                 origin: origin)) == "oidc_unknown_or_consumed_state")
            guard case .signedIn(let user, let token, _, _, let returnTo) = try await finish(flow, acme, callback) else {
                Issue.record("refused"); return
            }
            #expect(user.email.rawValue == "ada@acme.test" && user.role == .agent && user.name == "Ada Lovelace" && returnTo == "/tickets")
            guard case .success(let issued) = try await f.issuer.resolve(sessionToken: token, tenantSlug: "acme", audience: .tickets) else {
                Issue.record("session refused"); return
            }
            #expect(issued.principal.authenticationMethod == .sso)
            // The same callback again (state replayed): refused.
            #expect(reason(try await finish(flow, acme, callback)) == "oidc_unknown_or_consumed_state")
            // The next sign-in finds the same user by (issuer, sub), whatever the email now says.
            try await Self.provider.value.update("acme-once") { $0.user["email"] = "renamed@acme.test" }
            guard case .signedIn(let same, _, _, _, _) = try await signIn(flow, acme) else { Issue.record("second sign-in refused"); return }
            #expect(same.id == user.id)
            let events = try await f.outbox(acme)
            #expect(events.contains { $0.contains("auth.signed_in") && $0.contains("oidc") })
            #expect(events.contains { $0.contains("oidc_unknown_or_consumed_state") })
        }
    }

    @Test func refusesIDTokensWithTheWrongIssuerAudienceLifetimeNonceOrSubject() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            let flow = try await configure(f, acme, clientID: "acme-claims")
            let now = Int(Date.now.timeIntervalSince1970)
            let cases: [(String, @Sendable (inout [String: Any], inout [String: Any]) -> Void)] = [
                ("oidc_issuer_mismatch", { _, claims in claims["iss"] = "https://evil.test" }),
                ("oidc_issuer_mismatch", { _, claims in claims["iss"] = (claims["iss"] as! String) + "/" }),
                ("oidc_audience_mismatch", { _, claims in claims["aud"] = "another-client" }),
                ("oidc_authorized_party_mismatch", { _, claims in claims["aud"] = ["acme-claims", "another-client"] }),
                ("oidc_authorized_party_mismatch", { _, claims in claims["aud"] = ["acme-claims", "another-client"]; claims["azp"] = "another-client" }),
                ("oidc_expired", { _, claims in claims["iat"] = now - 900; claims["exp"] = now - 300 }),
                ("oidc_not_yet_valid", { _, claims in claims["iat"] = now + 600; claims["exp"] = now + 900 }),
                ("oidc_lifetime_missing_or_invalid", { _, claims in claims["exp"] = nil }),
                ("oidc_nonce_mismatch", { _, claims in claims["nonce"] = SessionRepository.newToken() }),
                ("oidc_nonce_mismatch", { _, claims in claims["nonce"] = nil }),
                ("oidc_subject_missing", { _, claims in claims["sub"] = nil }),
            ]
            for (expected, tamper) in cases {
                try await Self.provider.value.update("acme-claims") { $0.tamper = tamper }
                #expect(reason(try await signIn(flow, acme)) == expected)
            }
            // Within a minute of skew is accepted, and with several audiences a matching azp is.
            try await Self.provider.value.update("acme-claims") {
                $0.tamper = { _, claims in claims["iat"] = now + 30; claims["aud"] = ["acme-claims", "another"]; claims["azp"] = "acme-claims" }
            }
            guard case .signedIn = try await signIn(flow, acme) else { Issue.record("skew or azp refused"); return }
            #expect(try await userCount(f, acme) == 1)
            // A token carrying the nonce of that completed sign-in, in a new one: refused.
            let used = try await f.database.withTenant(acme.id) {
                try await $0.values("SELECT nonce FROM oidc_requests WHERE consumed_at IS NOT NULL ORDER BY consumed_at DESC LIMIT 1", as: String.self)
            }
            let old = try #require(used.first)
            try await Self.provider.value.update("acme-claims") { $0.tamper = { _, claims in claims["nonce"] = old } }
            #expect(reason(try await signIn(flow, acme)) == "oidc_nonce_mismatch")
            #expect(try await f.outbox(acme).contains { $0.contains("oidc_authorized_party_mismatch") })
        }
    }

    @Test func refusesAlgNoneHMACWithThePublicKeyForgedSignaturesAndKeyCarryingHeaders() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            let flow = try await configure(f, acme, clientID: "acme-alg")
            let cases: [(String, OIDCTestProvider.Signer, @Sendable (inout [String: Any], inout [String: Any]) -> Void)] = [
                ("oidc_algorithm_not_allowed", .none, { _, _ in }),
                ("oidc_algorithm_not_allowed", .hs256WithPublicKey, { _, _ in }),
                ("oidc_unknown_key", .unpublishedKey, { _, _ in }),
                // An RS256 token claiming the EC key: that key cannot verify RS256.
                ("oidc_unknown_key", .rs256, { header, _ in header["kid"] = "ec-1" }),
                // A PSS signature presented as PKCS#1 v1.5.
                ("oidc_signature_invalid", .ps256, { header, _ in header["alg"] = "RS256" }),
                ("oidc_forbidden_header", .rs256, { header, _ in header["jku"] = "https://evil.test/jwks" }),
                ("oidc_forbidden_header", .rs256, { header, _ in header["jwk"] = ["kty": "oct", "k": "AAAA"] }),
            ]
            for (expected, signer, tamper) in cases {
                try await Self.provider.value.update("acme-alg") { $0.signer = signer; $0.tamper = tamper }
                #expect(reason(try await signIn(flow, acme)) == expected, "\(signer)")
            }
            // A token whose payload changed after signing.
            let provider = try await Self.provider.value
            let genuine = provider.sign(["iss": provider.issuer, "aud": "acme-alg", "sub": "x", "iat": 1, "exp": 2], signer: .rs256)
            let parts = genuine.split(separator: ".")
            let forged = parts[0] + "." + Base64URL.encode(Data(#"{"iss":"x"}"#.utf8)) + "." + parts[2]
            let jws = try OIDCIDToken.parse(String(forged))
            let keys = try await OIDCProviderDirectory(trustRootsFile: Self.pki.caPath).keys(issuer: provider.issuer, algorithm: .rs256, keyID: "rsa-1")
            #expect(!keys.contains { $0.isValid(jws.signature, for: jws.signingInput, algorithm: .rs256) })
            // Every other allowed algorithm of the provider signs in.
            for signer in [OIDCTestProvider.Signer.ps256, .es256, .rs256] {
                try await Self.provider.value.update("acme-alg") { $0.signer = signer; $0.tamper = { _, _ in } }
                guard case .signedIn = try await signIn(flow, acme) else { Issue.record("\(signer) refused"); return }
            }
            #expect(try await userCount(f, acme) == 1)
        }
    }

    @Test func anUnknownKeyIDRefetchesTheKeysAtMostOnceAMinute() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            // A provider of its own: the shared one's key fetches count every parallel test's.
            let provider = try await OIDCTestProvider.start(pki: Self.pki)
            let flow = try await configure(f, acme, clientID: "acme-kid", client: { var c = Self.agent; c.signer = .unpublishedKey; return c }(),
                                           provider: provider)
            #expect(reason(try await signIn(flow, acme)) == "oidc_unknown_key")
            let fetched = provider.jwksFetches
            // Within the minute: no refetch however many forged kids arrive.
            #expect(reason(try await signIn(flow, acme)) == "oidc_unknown_key")
            #expect(reason(try await signIn(flow, acme)) == "oidc_unknown_key")
            #expect(provider.jwksFetches == fetched)
            // A minute later, one refetch.
            #expect(reason(try await finish(flow, acme, try await authorize(flow, acme), now: .now.addingTimeInterval(61))) == "oidc_unknown_key")
            #expect(provider.jwksFetches == fetched + 1)
        }
    }

    @Test func discoveryMustNameExactlyTheConfiguredHTTPSIssuer() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            let lying = try await OIDCTestProvider.start(pki: Self.pki) { $0 + "/" }
            lying.register("acme-lying", Self.agent)
            let store = try FileKeyStore(directory: FileManager.default.temporaryDirectory.appendingPathComponent("rampart-ks-\(UUID().uuidString)"))
            let configurations = SSOConfigurationRepository(database: f.database, region: acme.region, keyring: TenantKeyring(keys: .generate(), store: store))
            var input = SAMLSignInTests.input { $0.samlMetadata = nil }
            input.oidc = .init(issuer: lying.issuer, clientID: "acme-lying", clientSecret: Self.secret)
            try await configurations.save(try input.configuration(for: .staff).get(), clientSecret: Self.secret, tenant: acme.id,
                                          actor: IdentityFixture.operatorActor, requestID: nil)
            let flow = OIDCSignIn(database: f.database, region: acme.region, configurations: configurations,
                                  providers: OIDCProviderDirectory(trustRootsFile: Self.pki.caPath))
            guard case .refused(let reason) = try #require(try await flow.start(tenant: acme, audience: .staff, host: "acme.eu.localhost:8443",
                                                                                 returnTo: "/", origin: origin))
            else { Issue.record("a mismatching discovery document was used"); return }
            #expect(reason == "oidc_discovery_issuer_mismatch")
            #expect(try await f.outbox(acme).contains { $0.contains("oidc_discovery_issuer_mismatch") })
            // A provider whose certificate the system does not trust is not reached at all.
            let untrusting = OIDCSignIn(database: f.database, region: acme.region, configurations: configurations,
                                        providers: OIDCProviderDirectory(trustRootsFile: nil))
            guard case .refused(let untrusted) = try #require(try await untrusting.start(tenant: acme, audience: .staff, host: "acme.eu.localhost:8443",
                                                                                          returnTo: "/", origin: origin))
            else { Issue.record("an untrusted provider was used"); return }
            #expect(untrusted == "oidc_discovery_failed")
            // Plain http, a missing openid scope and a missing secret are refused when configured.
            var plain = input
            plain.oidc?.issuer = "http://localhost:1"
            plain.oidc?.scopes = ["email"]
            guard case .failure(let problems) = plain.configuration(for: .staff) else { Issue.record("accepted"); return }
            #expect(problems.fields["oidc.issuer"] != nil && problems.fields["oidc.scopes"] != nil)
            await #expect(throws: SSOConfigurationProblems.self) {
                try await SSOConfigurationRepository(database: f.database, region: acme.region, keyring: TenantKeyring(keys: .generate(), store: store))
                    .save(try input.configuration(for: .customers).get(), tenant: acme.id, actor: IdentityFixture.operatorActor, requestID: nil)
            }
        }
    }

    @Test func tokensForAnotherTenantsClientAndCodesForAnotherRedirectAreRefused() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            let globex = try await f.tenant("globex")
            let acmeFlow = try await configure(f, acme, clientID: "acme-tenant")
            let globexFlow = try await configure(f, globex, clientID: "globex-tenant")
            // The provider issues globex's sign-in a token meant for acme's client.
            try await Self.provider.value.update("globex-tenant") { $0.tamper = { _, claims in claims["aud"] = "acme-tenant" } }
            #expect(reason(try await finish(globexFlow, globex, try await authorize(globexFlow, globex, host: "globex.eu.localhost:8443")))
                    == "oidc_audience_mismatch")
            // A code issued for acme's redirect URI, delivered to globex's callback with globex's own state.
            let acmeCallback = try await authorize(acmeFlow, acme)
            let globexCallback = try await authorize(globexFlow, globex, host: "globex.eu.localhost:8443")
            #expect(reason(try await finish(globexFlow, globex, Callback(code: acmeCallback.code, state: globexCallback.state,
                                                                         browserToken: globexCallback.browserToken))) == "oidc_token_exchange_failed")
            // Acme's state at globex: unknown there (row-level security), even with acme's browser cookie.
            #expect(reason(try await finish(globexFlow, globex, acmeCallback)) == "oidc_unknown_or_consumed_state")
            // The provider burnt the misused code, so acme's own callback fails too; a new sign-in at acme works.
            #expect(reason(try await finish(acmeFlow, acme, acmeCallback)) == "oidc_token_exchange_failed")
            guard case .signedIn = try await signIn(acmeFlow, acme) else { Issue.record("acme refused"); return }
            #expect(try await userCount(f, globex) == 0)
        }
    }

    @Test func theClientSecretIsSealedAndSentAsConfiguredAndAWrongOneFails() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            let client = { var c = Self.agent; c.authentication = .clientSecretPost; return c }()
            let flow = try await configure(f, acme, clientID: "acme-post", client: client)
            let stored = try await f.database.withTenant(acme.id) { try await $0.values("SELECT configuration::text FROM sso_configurations", as: String.self) }
            #expect(stored.count == 1 && !stored[0].contains(Self.secret) && stored[0].contains("sealed_secret"))
            #expect(try await !f.outbox(acme).contains { $0.contains(Self.secret) })
            guard case .signedIn = try await signIn(flow, acme) else { Issue.record("client_secret_post refused"); return }
            // The provider now expects another secret: the exchange fails and nothing more is created.
            try await Self.provider.value.update("acme-post") { $0.secret = "rotated at the provider" }
            #expect(reason(try await signIn(flow, acme)) == "oidc_token_exchange_failed")
            #expect(try await userCount(f, acme) == 1)
        }
    }

    @Test func accountsAreNeverLinkedByEmailAndMFAComesFromAmrOrATrustedAcr() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            _ = try await f.user(acme, "ada@acme.test", role: .admin)
            let takeover = try await configure(f, acme, clientID: "acme-takeover")
            #expect(reason(try await signIn(takeover, acme)) == "email_belongs_to_unlinked_account")
            // An email the provider marks unverified is not used to provision.
            let unverified = try await configure(f, acme, clientID: "acme-unverified", client: {
                var c = Self.agent; c.user = ["sub": "u-2", "email": "new@acme.test"]; c.tamper = { _, claims in claims["email_verified"] = false }; return c
            }())
            #expect(reason(try await signIn(unverified, acme)) == "email_missing_or_invalid")

            try await f.database.withTenant(acme.id) { connection in
                _ = try await SecuritySettings.update(tenant: acme.id, region: acme.region, actor: IdentityFixture.operatorActor, requestID: nil,
                                                      on: connection, logger: f.database.logger) { stored in
                    var settings = stored
                    settings.totpRequiredRoles = [.agent]
                    return settings
                }
            }
            let agent = { (sub: String) in var c = Self.agent; c.user = ["sub": sub, "email": "\(sub)@acme.test"]; return c }
            let untrusted = try await configure(f, acme, clientID: "acme-mfa-untrusted", client: { var c = agent("m1"); c.amr = ["pwd", "mfa"]; return c }())
            #expect(reason(try await signIn(untrusted, acme)) == "second_factor_not_asserted")
            let withoutMFA = try await configure(f, acme, clientID: "acme-mfa-none", client: { var c = agent("m2"); c.amr = ["pwd"]; return c }()) {
                $0.idpSecondFactorRoles = [.agent]
            }
            #expect(reason(try await signIn(withoutMFA, acme)) == "second_factor_not_asserted")
            let amr = try await configure(f, acme, clientID: "acme-mfa-amr", client: { var c = agent("m3"); c.amr = ["pwd", "otp"]; return c }()) {
                $0.idpSecondFactorRoles = [.agent]
            }
            guard case .signedIn = try await signIn(amr, acme) else { Issue.record("amr otp refused"); return }
            let acr = try await configure(f, acme, clientID: "acme-mfa-acr", client: {
                var c = agent("m4"); c.tamper = { _, claims in claims["acr"] = "urn:okta:loa:2fa:any" }; return c
            }()) { $0.preset = .okta; $0.idpSecondFactorRoles = [.agent] }
            guard case .signedIn = try await signIn(acr, acme) else { Issue.record("trusted acr refused"); return }
        }
    }

    @Test func theRoleFollowsTheIdPsGroupsOnEverySignInAndNoMappedGroupDisablesTheUser() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            let flow = try await configure(f, acme, clientID: "acme-roles")
            func session(_ outcome: FederatedOutcome) -> (User, String)? {
                if case .signedIn(let user, let token, _, _, _) = outcome { return (user, token) }
                return nil
            }
            func resolves(_ token: String) async throws -> Bool {
                if case .success = try await f.issuer.resolve(sessionToken: token, tenantSlug: "acme", audience: .tickets) { return true }
                return false
            }
            let (agent, agentToken) = try #require(session(try await signIn(flow, acme)))
            #expect(agent.role == .agent)
            // Promotion: the new role, and the session held under the old one ends.
            try await Self.provider.value.update("acme-roles") { $0.groups = ["helpdesk-admins", "helpdesk-agents"] }
            let (admin, adminToken) = try #require(session(try await signIn(flow, acme)))
            #expect(admin.id == agent.id && admin.role == .admin)
            #expect(try await f.users.find(id: agent.id, tenant: acme.id)?.role == .admin)
            #expect(try await !resolves(agentToken))
            #expect(try await resolves(adminToken))
            // Demotion, likewise.
            try await Self.provider.value.update("acme-roles") { $0.groups = ["helpdesk-agents"] }
            let (demoted, demotedToken) = try #require(session(try await signIn(flow, acme)))
            #expect(demoted.role == .agent)
            #expect(try await !resolves(adminToken))
            // Unchanged groups: no role change, the earlier session stays.
            _ = try #require(session(try await signIn(flow, acme)))
            #expect(try await resolves(demotedToken))
            let roleChanges = try await events(f, acme, "user.role_changed")
            #expect(roleChanges.map { $0["changes"] as? [String: [String]] } == [["role": ["agent", "admin"]], ["role": ["admin", "agent"]]])
            #expect(roleChanges.allSatisfy { ($0["actor"] as? [String: Any])?["id"] as? String == "sso" })

            // No group maps to a role any more: refused, and the user is deactivated with every session ended.
            try await Self.provider.value.update("acme-roles") { $0.groups = ["former-staff"] }
            #expect(reason(try await signIn(flow, acme)) == "no_role_for_groups")
            #expect(try await f.users.find(id: agent.id, tenant: acme.id)?.status == .deactivated)
            #expect(try await !resolves(demotedToken))
            #expect(try await events(f, acme, "user.deactivated").map { ($0["actor"] as? [String: Any])?["id"] as? String } == ["sso"])
            // Mapped groups again do not bring a deactivated user back; only an admin can.
            try await Self.provider.value.update("acme-roles") { $0.groups = ["helpdesk-agents"] }
            #expect(reason(try await signIn(flow, acme)) == "user_not_active")
            #expect(try await userCount(f, acme) == 1)
        }
    }
}
