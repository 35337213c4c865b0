import Foundation
@testable import Identity
import PostgresNIO
import RampartCore
import RampartSecurity
import RampartStorage
import Testing

/// SAML sign-in against real PostgreSQL: requests bound to the browser and consumed once, the
/// replay cache, unsolicited responses, accounts keyed by subject (never linked by email), JIT
/// provisioning with group mapping, disabled users, "SSO required" with one break-glass admin,
/// and the IdP's MFA standing in for TOTP.
@Suite("SAML: sign-in, accounts and audit", .serialized)
struct SAMLSignInTests {
    static let idp = SAMLResponseTests.idp
    let origin = PasswordSignIn.Origin(ip: "192.0.2.20", userAgent: "tests", requestID: nil)
    let provider = SAMLServiceProvider(host: "acme.eu.localhost:8443", audience: .staff)

    static func input(_ change: (inout SSOConfigurationInput) -> Void = { _ in }) -> SSOConfigurationInput {
        var input = SSOConfigurationInput(
            preset: .custom, samlMetadata: idp.metadataXML(), saml: nil, jwt: nil, attributes: nil,
            groupRoles: ["helpdesk-agents": .agent, "helpdesk-admins": .admin], defaultRole: nil, justInTimeProvisioning: true,
            ssoRequiredRoles: nil, idpSecondFactorRoles: nil, multiFactorContexts: nil, breakGlassEmail: nil
        )
        change(&input)
        return input
    }

    func configure(_ f: IdentityFixture, _ tenant: Tenant, _ change: (inout SSOConfigurationInput) -> Void = { _ in }) async throws -> SAMLSignIn {
        let store = try FileKeyStore(directory: FileManager.default.temporaryDirectory.appendingPathComponent("rampart-ks-\(UUID().uuidString)"))
        let configurations = SSOConfigurationRepository(database: f.database, region: tenant.region, keyring: TenantKeyring(keys: .generate(), store: store))
        let saml = SAMLSignIn(database: f.database, region: tenant.region, configurations: configurations)
        let configuration = try Self.input(change).configuration(for: .staff).get()
        try await saml.configurations.save(configuration, tenant: tenant.id, actor: IdentityFixture.operatorActor, requestID: nil)
        return saml
    }

    /// Starts an SP-initiated sign-in and answers it with a response signed by the test IdP.
    func signIn(_ saml: SAMLSignIn, _ f: IdentityFixture, _ tenant: Tenant, browser: String? = nil,
                _ change: (inout SAMLResponseSpec) -> Void = { _ in }) async throws -> (SAMLSignIn.Outcome, String) {
        let started = try #require(try await saml.start(tenant: tenant, provider: provider, returnTo: "/tickets"))
        let requestID = try await f.database.withTenant(tenant.id) {
            try await $0.values("SELECT id FROM saml_requests WHERE consumed_at IS NULL ORDER BY expires_at DESC LIMIT 1", as: String.self)
        }.first
        var spec = SAMLResponseSpec()
        spec.inResponseTo = requestID
        change(&spec)
        let encoded = Data(try spec.signed(by: Self.idp).utf8).base64EncodedString()
        let outcome = try await saml.finish(tenant: tenant, provider: provider, encodedResponse: encoded, browserToken: browser ?? started.browserToken,
                                            relayState: nil, origin: origin)
        return (outcome, encoded)
    }

    func reason(_ outcome: SAMLSignIn.Outcome) -> String? {
        if case .refused(let reason) = outcome { return reason }
        return nil
    }

    func userCount(_ f: IdentityFixture, _ tenant: Tenant) async throws -> Int {
        try await f.database.withTenant(tenant.id) { try await $0.values("SELECT count(*)::int FROM users", as: Int.self) }.first ?? -1
    }

    @Test func spInitiatedSignInProvisionsTheUserWithTheMappedRoleAndStartsAnSSOSession() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            let saml = try await configure(f, acme)
            let (outcome, _) = try await signIn(saml, f, acme)
            guard case .signedIn(let user, let token, _, _, let returnTo) = outcome else { Issue.record("refused: \(outcome)"); return }
            #expect(user.email.rawValue == "ada@acme.test")
            #expect(user.role == .agent)
            #expect(user.name == "Ada Lovelace")
            #expect(returnTo == "/tickets")
            guard case .success(let issued) = try await f.issuer.resolve(sessionToken: token, tenantSlug: "acme", audience: .tickets) else {
                Issue.record("session refused"); return
            }
            #expect(issued.principal.authenticationMethod == .sso)
            #expect(issued.principal.kind == .agent)
            // The next sign-in finds the same user by subject, not by email.
            let (again, _) = try await signIn(saml, f, acme) { $0.attributes = [("email", ["renamed@acme.test"]), ("groups", ["helpdesk-agents"])] }
            guard case .signedIn(let same, _, _, _, _) = again else { Issue.record("second sign-in refused"); return }
            #expect(same.id == user.id)
            let events = try await f.outbox(acme)
            #expect(events.filter { $0.contains("\"auth.signed_in\"") && $0.contains("\"sso\"") }.count == 2)
            #expect(events.contains { $0.contains("\"user.created\"") && $0.contains("\"saml\"") })
            #expect(events.contains { $0.contains("\"sso_configuration.updated\"") })
        }
    }

    @Test func aResponseIsAcceptedOnlyInTheBrowserThatStartedTheRequestAndOnlyOnce() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            let saml = try await configure(f, acme)
            let (stolen, _) = try await signIn(saml, f, acme, browser: SessionRepository.newToken())
            #expect(reason(stolen) == "unknown_or_consumed_request")
            let (first, encoded) = try await signIn(saml, f, acme)
            guard case .signedIn(_, _, _, _, _) = first else { Issue.record("refused: \(first)"); return }
            // The same response again, even from the same browser: its request is spent.
            let replay = try await saml.finish(tenant: acme, provider: provider, encodedResponse: encoded, browserToken: SessionRepository.newToken(),
                                               relayState: nil, origin: origin)
            #expect(reason(replay) == "unknown_or_consumed_request")
            #expect(try await f.outbox(acme).contains { $0.contains("\"auth.sign_in_failed\"") && $0.contains("unknown_or_consumed_request") })
        }
    }

    @Test func unsolicitedResponsesAreRefusedUnlessAllowedAndThenReplaysAreCaught() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            var spec = SAMLResponseSpec()
            spec.inResponseTo = nil
            let encoded = Data(try spec.signed(by: Self.idp).utf8).base64EncodedString()
            let off = try await configure(f, acme)
            let refused = try await off.finish(tenant: acme, provider: provider, encodedResponse: encoded, browserToken: nil, relayState: "/x", origin: origin)
            #expect(reason(refused) == "unsolicited_response")
            #expect(try await userCount(f, acme) == 0)

            let on = try await configure(f, acme) { $0.saml = .init(allowIdPInitiated: true) }
            let accepted = try await on.finish(tenant: acme, provider: provider, encodedResponse: encoded, browserToken: nil,
                                               relayState: "//evil.test/", origin: origin)
            guard case .signedIn(_, _, _, _, let returnTo) = accepted else { Issue.record("refused: \(accepted)"); return }
            #expect(returnTo == "/")
            let replayed = try await on.finish(tenant: acme, provider: provider, encodedResponse: encoded, browserToken: nil, relayState: nil, origin: origin)
            #expect(reason(replayed) == "assertion_replayed")
            #expect(try await f.outbox(acme).contains { $0.contains("assertion_replayed") })
        }
    }

    @Test func anExistingAccountIsNeverLinkedByEmail() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            let existing = try await f.user(acme, "ada@acme.test", role: .admin)
            let saml = try await configure(f, acme)
            let (outcome, _) = try await signIn(saml, f, acme)
            #expect(reason(outcome) == "email_belongs_to_unlinked_account")
            #expect(try await userCount(f, acme) == 1)
            let linked = try await f.database.withTenant(acme.id) { try await $0.values("SELECT count(*)::int FROM federated_identities", as: Int.self) }
            #expect(linked == [0])
            #expect(try await f.users.find(id: existing.id, tenant: acme.id)?.role == .admin)
        }
    }

    @Test func deactivatedUsersUnmappedGroupsAndDisabledProvisioningAreRefused() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            let saml = try await configure(f, acme)
            let (first, _) = try await signIn(saml, f, acme)
            guard case .signedIn(let user, _, _, _, _) = first else { Issue.record("refused: \(first)"); return }
            try await f.users.deactivate(id: user.id, tenant: acme.id, actor: IdentityFixture.operatorActor, requestID: nil)
            #expect(reason(try await signIn(saml, f, acme).0) == "user_not_active")

            let unmapped = try await signIn(saml, f, acme) { $0.nameID = "bob-subject"; $0.attributes = [("email", ["bob@acme.test"]), ("groups", ["sales"])] }
            #expect(reason(unmapped.0) == "no_role_for_groups")
            let closed = try await configure(f, acme) { $0.justInTimeProvisioning = false }
            let notProvisioned = try await signIn(closed, f, acme) { $0.nameID = "carol-subject"; $0.attributes = [("email", ["carol@acme.test"])] }
            #expect(reason(notProvisioned.0) == "not_provisioned")
            #expect(try await userCount(f, acme) == 1)
        }
    }

    @Test func aSignedResponseForOneTenantDoesNotSignIntoAnother() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            let globex = try await f.tenant("globex")
            _ = try await configure(f, acme)
            let globexSAML = try await configure(f, globex)
            // Globex trusts the same IdP, but acme's response names acme's ACS and audience.
            var spec = SAMLResponseSpec()
            spec.inResponseTo = nil
            let encoded = Data(try spec.signed(by: Self.idp).utf8).base64EncodedString()
            let outcome = try await globexSAML.finish(tenant: globex, provider: SAMLServiceProvider(host: "globex.eu.localhost:8443", audience: .staff),
                                                      encodedResponse: encoded, browserToken: nil, relayState: nil, origin: origin)
            #expect(reason(outcome) == "destination_mismatch")
            #expect(try await userCount(f, globex) == 0)
        }
    }

    @Test func customersSignInThroughTheirOwnServiceProviderAndOnlyAsCustomers() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            // A customers' configuration cannot map a group to a staff role.
            #expect(throws: SSOConfigurationProblems.self) { try Self.input { $0.groupRoles = ["vip": .admin] }.configuration(for: .customers).get() }
            let store = try FileKeyStore(directory: FileManager.default.temporaryDirectory.appendingPathComponent("rampart-ks-\(UUID().uuidString)"))
            let configurations = SSOConfigurationRepository(database: f.database, region: acme.region, keyring: TenantKeyring(keys: .generate(), store: store))
            let customers = try Self.input { $0.groupRoles = [:]; $0.saml = .init(allowIdPInitiated: true) }.configuration(for: .customers).get()
            try await configurations.save(customers, tenant: acme.id, actor: IdentityFixture.operatorActor, requestID: nil)
            let saml = SAMLSignIn(database: f.database, region: acme.region, configurations: configurations)
            let portal = SAMLServiceProvider(host: "acme.eu.localhost:8443", audience: .customers)
            #expect(portal.acsURL == "https://acme.eu.localhost:8443/auth/saml/acs?audience=customers")

            var spec = SAMLResponseSpec()
            spec.inResponseTo = nil
            spec.acsURL = portal.acsURL
            spec.audience = portal.entityID
            spec.attributes = [("email", ["buyer@example.test"]), ("groups", ["helpdesk-admins"])]
            let encoded = Data(try spec.signed(by: Self.idp).utf8).base64EncodedString()
            guard case .signedIn(let user, _, _, _, _) = try await saml.finish(tenant: acme, provider: portal, encodedResponse: encoded, browserToken: nil,
                                                                               relayState: nil, origin: origin) else {
                Issue.record("customer refused"); return
            }
            #expect(user.role == .customer)
            // Staff have no configuration here: the staff ACS refuses the same IdP.
            let staff = try await saml.finish(tenant: acme, provider: provider, encodedResponse: encoded, browserToken: nil, relayState: nil, origin: origin)
            #expect(reason(staff) == "sso_not_configured")
        }
    }

    @Test func ssoRequiredRolesCannotUseAPasswordExceptTheAuditedBreakGlassAdmin() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            _ = try await f.user(acme, "agent@acme.test", role: .agent)
            _ = try await f.user(acme, "root@acme.test", role: .admin)
            _ = try await configure(f, acme) { $0.ssoRequiredRoles = [.agent, .admin]; $0.breakGlassEmail = "root@acme.test" }
            let passwords = PasswordSignIn(database: f.database, region: acme.region, hasher: PasswordHasher(parameters: .testing))
            guard case .refused = try await passwords.signIn(tenant: acme, email: "agent@acme.test", password: SignInTests.password, origin: origin) else {
                Issue.record("an SSO-only agent signed in with a password"); return
            }
            guard case .signedIn = try await passwords.signIn(tenant: acme, email: "root@acme.test", password: SignInTests.password, origin: origin) else {
                Issue.record("the break-glass admin was refused"); return
            }
            let events = try await f.outbox(acme)
            #expect(events.contains { $0.contains("\"auth.sign_in_failed\"") && $0.contains("sso_required") })
            #expect(events.contains { $0.contains("\"auth.break_glass_used\"") && $0.contains("root@acme.test") })
        }
    }

    @Test func theIdPsMultiFactorAssertionSatisfiesTheTOTPRequirementOnlyWhenTrusted() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            try await f.database.withTenant(acme.id) { connection in
                _ = try await SecuritySettings.update(tenant: acme.id, region: acme.region, actor: IdentityFixture.operatorActor, requestID: nil,
                                                      on: connection, logger: f.database.logger) { stored in
                    var settings = stored
                    settings.totpRequiredRoles = [.agent]
                    return settings
                }
            }
            let untrusted = try await configure(f, acme)
            let mfa = "urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract"
            #expect(reason(try await signIn(untrusted, f, acme) { $0.authnContext = mfa }.0) == "second_factor_not_asserted")
            let trusted = try await configure(f, acme) { $0.idpSecondFactorRoles = [.agent] }
            #expect(reason(try await signIn(trusted, f, acme).0) == "second_factor_not_asserted")
            guard case .signedIn = try await signIn(trusted, f, acme, { $0.authnContext = mfa }).0 else { Issue.record("MFA sign-in refused"); return }
        }
    }
}

extension SSOConfigurationInput.SAML {
    init(allowIdPInitiated: Bool) {
        self.init(entityID: nil, ssoURL: nil, certificates: nil, allowSHA1: nil, allowIdPInitiated: allowIdPInitiated)
    }
}
