import Crypto
import Foundation
@testable import Identity
import PostgresNIO
import RampartCore
import RampartSecurity
import RampartStorage
import RampartTransport
import Testing

/// Identity's changes that meet another change of the same account. Each test holds the user's
/// row (or credential's) locked in a transaction of its own until the raced requests wait for it,
/// so both have read the account before either may write: the interleaving that used to lose a
/// change happens every run, not by chance.
@Suite("Identity: a password, a role, an invitation or a second factor changed by two at once")
struct IdentityRaceTests {
    static let password = "violet submarine harbour 42"
    let origin = PasswordSignIn.Origin(ip: "192.0.2.11", userAgent: "tests", requestID: nil)

    /// `racing` while `lock` (identity's tables, unqualified) is held until `waiters` wait for it
    /// (`TestDatabase.whileLocked`), then `then` commits; answers what `racing` answered.
    func meet<R: Sendable>(_ f: IdentityFixture, lock: String, waiters: Int,
                           then: @escaping @Sendable (PostgresConnection) async throws -> Void = { _ in },
                           racing: @escaping @Sendable () async throws -> R) async throws -> R {
        let (result, met) = try await f.testDatabase.whileLocked(lock, schema: "identity", waiters: waiters, then: then, racing: racing)
        #expect(met, "the raced requests reached the locked row")
        return result
    }

    @Test func aPasswordChangeThatCommitsWhileASignInChecksTheOldPasswordWins() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            let user = try await f.user(acme, "ada@acme.test", role: .agent)
            let signIn = PasswordSignIn(database: f.database, region: acme.region, hasher: PasswordHasher(parameters: .testing))
            let changed = try await PasswordHasher(parameters: .testing).hash("amber lighthouse keeper 77")
            let outcome = try await meet(f, lock: "SELECT 1 FROM users WHERE id = '\(user.id)' FOR UPDATE", waiters: 1, then: { connection in
                // What a password change commits while the sign-in is on its way.
                try await connection.query("UPDATE users SET password_hash = \(changed) WHERE id = \(user.id)", logger: TestDatabase.logger)
            }) {
                try await signIn.signIn(tenant: acme, email: "ada@acme.test", password: Self.password, origin: origin)
            }
            guard case .refused = outcome else { Issue.record("the old password started a session after the change: \(outcome)"); return }
            let sessions = try await f.database.withTenant(acme.id) { try await $0.values("SELECT count(*)::integer FROM sessions", as: Int.self) }
            #expect(sessions == [0])
            #expect(try await f.outbox(acme).contains { $0.contains("auth.sign_in_failed") && $0.contains("account_changed") })
        }
    }

    /// A rehash (another sign-in raising the Argon2id cost) rewrites the hash of the same
    /// password: it is no password change, so it refuses neither a sign-in nor a change.
    @Test func aRehashMeanwhileRefusesNeitherASignInNorAPasswordChange() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            let user = try await f.user(acme, "ada@acme.test", role: .agent)
            let hasher = PasswordHasher(parameters: .testing)
            let lock = "SELECT 1 FROM users WHERE id = '\(user.id)' FOR UPDATE"
            let rehashed = try await hasher.hash(Self.password)
            let signIn = PasswordSignIn(database: f.database, region: acme.region, hasher: hasher)
            let outcome = try await meet(f, lock: lock, waiters: 1, then: { connection in
                try await connection.query("UPDATE users SET password_hash = \(rehashed) WHERE id = \(user.id)", logger: TestDatabase.logger)
            }) {
                try await signIn.signIn(tenant: acme, email: "ada@acme.test", password: Self.password, origin: origin)
            }
            guard case .signedIn = outcome else { Issue.record("a rehash refused the sign-in: \(outcome)"); return }

            let rehashedAgain = try await hasher.hash(Self.password)
            let change = PasswordChange(database: f.database, region: acme.region, hasher: hasher)
            let changed = try await meet(f, lock: lock, waiters: 1, then: { connection in
                try await connection.query("UPDATE users SET password_hash = \(rehashedAgain) WHERE id = \(user.id)", logger: TestDatabase.logger)
            }) {
                try await change.change(user: user, current: Self.password, new: "amber lighthouse keeper 77", method: "password", requestID: nil)
            }
            guard case .changed = changed else { Issue.record("a rehash refused the change: \(changed)"); return }
        }
    }

    @Test func ofTwoPasswordChangesMadeWithTheSamePasswordOneApplies() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            let user = try await f.user(acme, "ada@acme.test", role: .agent)
            let change = PasswordChange(database: f.database, region: acme.region, hasher: PasswordHasher(parameters: .testing))
            let outcomes = try await meet(f, lock: "SELECT 1 FROM users WHERE id = '\(user.id)' FOR UPDATE", waiters: 2) {
                try await withThrowingTaskGroup(of: Bool.self) { group in
                    for new in ["amber lighthouse keeper 77", "copper meadow lantern 58"] {
                        group.addTask {
                            if case .changed = try await change.change(user: user, current: Self.password, new: new, method: "password", requestID: nil) { return true }
                            return false
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
            }
            #expect(outcomes.filter { $0 }.count == 1 && outcomes.count == 2, "exactly one change applies")
            let history = try await f.database.withTenant(acme.id) { try await $0.values("SELECT count(*)::integer FROM password_history", as: Int.self) }
            #expect(history == [1])
            #expect(try await f.outbox(acme).filter { $0.contains("user.password_changed") }.count == 1)
        }
    }

    @Test func aDeactivationThatCommitsWhileAnInvitationIsAcceptedWins() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            let invitations = InvitationRepository(database: f.database, region: acme.region, hashKey: SymmetricKey(size: .bits256),
                                                   hasher: PasswordHasher(parameters: .testing))
            let (invited, token) = try await invitations.invite(tenant: acme, email: "new@acme.test", name: "New Agent", role: .agent,
                                                                 actor: IdentityFixture.operatorActor, requestID: nil)
            let accepted = try await meet(f, lock: "SELECT 1 FROM users WHERE id = '\(invited.id)' FOR UPDATE", waiters: 1, then: { connection in
                try await connection.query("UPDATE users SET status = 'deactivated' WHERE id = \(invited.id)", logger: TestDatabase.logger)
            }) {
                try await invitations.accept(token, password: "amber lighthouse keeper 77", tenant: acme.id, ip: nil, userAgent: nil, requestID: nil)
            }
            guard case .failure(.invalidInvitation) = accepted else { Issue.record("accepted after the deactivation: \(accepted)"); return }
            let status = try await f.database.withTenant(acme.id) { try await $0.values("SELECT status FROM users WHERE id = \(invited.id)", as: String.self) }
            #expect(status == ["deactivated"])
        }
    }

    @Test func aRoleChangeAfterAnotherIsRecordedAndEndsTheOthersSessions() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            let user = try await f.user(acme, "ada@acme.test", role: .agent)
            try await meet(f, lock: "SELECT 1 FROM users WHERE id = '\(user.id)' FOR UPDATE", waiters: 1, then: { connection in
                // Another admin's promotion commits first.
                try await connection.query("UPDATE users SET role = 'admin' WHERE id = \(user.id)", logger: TestDatabase.logger)
            }) {
                try await f.users.changeRole(id: user.id, to: .agent, tenant: acme.id, actor: IdentityFixture.operatorActor, requestID: nil)
            }
            let role = try await f.database.withTenant(acme.id) { try await $0.values("SELECT role FROM users WHERE id = \(user.id)", as: String.self) }
            #expect(role == ["agent"])
            // The demotion saw the admin it demoted: recorded as such (and sessions ended), not skipped as "no change".
            #expect(try await f.outbox(acme).contains { $0.contains("user.role_changed") && $0.contains(#"["admin", "agent"]"#) })
        }
    }

    /// Makes a credential (`make` answers whether it was made) while a deactivation that revokes
    /// every row of `table` commits; expects it refused and none of `table` left alive.
    func madeWhileDeactivated(_ table: String, make: @escaping @Sendable (IdentityFixture, Tenant, User) async throws -> Bool) async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            let user = try await f.user(acme, "ada@acme.test", role: .agent)
            let made = try await meet(f, lock: "SELECT 1 FROM users WHERE id = '\(user.id)' FOR UPDATE", waiters: 1, then: { connection in
                // What a deactivation commits meanwhile: the user off, their credentials revoked.
                try await connection.query("UPDATE users SET status = 'deactivated' WHERE id = \(user.id)", logger: TestDatabase.logger)
                try await connection.query(PostgresQuery(unsafeSQL: "UPDATE \(table) SET revoked_at = now() WHERE user_id = '\(user.id)' AND revoked_at IS NULL"),
                                           logger: TestDatabase.logger)
            }) { try await make(f, acme, user) }
            #expect(!made, "\(table): made for a deactivated user")
            let live = try await f.database.withTenant(acme.id) {
                try await $0.values(PostgresQuery(unsafeSQL: "SELECT count(*)::integer FROM \(table) WHERE revoked_at IS NULL"), as: Int.self)
            }
            #expect(live == [0], "\(table)")
        }
    }

    @Test func anAPIKeyMadeWhileItsOwnerIsDeactivatedIsRefused() async throws {
        try await madeWhileDeactivated("api_keys") { f, _, user in
            do {
                _ = try await f.apiKeys.create(for: user, name: "Script", scopes: ["tickets:read"], allowedCIDRs: [], expiresAt: nil,
                                               actor: IdentityFixture.operatorActor, requestID: nil)
                return true
            } catch IdentityError.userNotFound {
                return false
            }
        }
    }

    @Test func aTokenIssuedWhileItsUserIsDeactivatedIsRefused() async throws {
        try await madeWhileDeactivated("tokens") { f, acme, user in
            let grant = TokenRepository.Grant(tenantID: acme.id, userID: user.id, clientID: nil, apiKeyID: nil, authenticationMethod: "password",
                                              scopes: ["tickets:read"])
            do {
                _ = try await f.issuer.tokens.issue(grant, refresh: true)
                return true
            } catch is TokenRepository.OwnerGone {
                return false
            }
        }
    }

    @Test func ofTwoTenantTransitionsFromOneStatusOnlyOneIsRecorded() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            let outcome = try await meet(f, lock: "SELECT 1 FROM tenants WHERE id = '\(acme.id.rawValue)' FOR UPDATE", waiters: 1, then: { connection in
                // Another operator's suspension commits first.
                try await connection.query("UPDATE tenants SET status = 'suspended' WHERE id = \(acme.id.rawValue)", logger: TestDatabase.logger)
            }) { () -> String in
                do {
                    return try await f.tenants.setStatus(slug: acme.slug, to: .cancelled, actor: IdentityFixture.operatorActor, requestID: nil).status.rawValue
                } catch IdentityError.invalidTransition(let from, _) {
                    return "refused from \(from)"
                }
            }
            #expect(outcome == "refused from suspended")
            #expect(try await f.outbox(acme).allSatisfy { !$0.contains("tenant.cancelled") }, "no record of a transition that did not happen")
        }
    }

    @Test func aSingleSignOnOfAUserDeactivatedMeanwhileStartsNothing() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            let input = try JSONRequestBody.decoder.decode(SSOConfigurationInput.self, from: Data(#"""
                {"preset":"okta","jwt":{"issuer":"https://www.acme.test","audience":"rampart","algorithm":"HS256"},"default_role":"agent"}
                """#.utf8))
            guard case .success(let configuration) = input.configuration(for: .staff) else { Issue.record("configuration refused"); return }
            let identity = FederatedIdentity(protocolName: "jwt", issuer: "https://www.acme.test", subject: "ada-1", email: "ada@acme.test",
                                             name: "Ada", groups: [], multiFactor: false)
            @Sendable func signIn() async throws -> Bool {
                do {
                    _ = try await f.database.withTenant(acme.id) { connection in
                        try await FederatedSignIn.start(identity, tenant: acme, configuration: configuration, region: acme.region, origin: origin,
                                                        on: connection, logger: TestDatabase.logger)
                    }
                    return true
                } catch is FederatedRefusal {
                    return false
                }
            }
            #expect(try await signIn(), "provisioned just in time")
            let user = try #require(try await f.database.withTenant(acme.id) { try await $0.values("SELECT id FROM users", as: UUID.self) }.first)
            let started = try await meet(f, lock: "SELECT 1 FROM users WHERE id = '\(user)' FOR UPDATE", waiters: 1, then: { connection in
                try await connection.query("UPDATE users SET status = 'deactivated' WHERE id = \(user)", logger: TestDatabase.logger)
                try await connection.query("UPDATE sessions SET revoked_at = now() WHERE user_id = \(user) AND revoked_at IS NULL", logger: TestDatabase.logger)
            }, racing: signIn)
            #expect(!started, "a session for a user deactivated while signing in")
            let live = try await f.database.withTenant(acme.id) { try await $0.values("SELECT count(*)::integer FROM sessions WHERE revoked_at IS NULL", as: Int.self) }
            #expect(live == [0])
        }
    }

    @Test func ofTwoConfirmationsOfOneEnrollmentOneApplies() async throws {
        try await TwoFactorSignInTests().withTwoFactor { f, twoFactor, _, acme, user in
            let totp = try await twoFactor.enroll(user)
            let code = totp.code(step: totp.step(at: .now))
            let confirmed = try await meet(f, lock: "SELECT 1 FROM totp_credentials WHERE user_id = '\(user.id)' FOR UPDATE", waiters: 2) {
                try await withThrowingTaskGroup(of: [String]?.self) { group in
                    for _ in 0..<2 {
                        group.addTask { try? await twoFactor.confirm(user, code: code, actor: IdentityFixture.operatorActor, requestID: nil) }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
            }
            let shown = confirmed.compactMap { $0 }
            #expect(shown.count == 1, "one confirmation applies, the other finds it confirmed")
            // The recovery codes shown are the ones stored.
            let stored = try await f.database.withTenant(acme.id) { try await $0.values("SELECT count(*)::integer FROM recovery_codes", as: Int.self) }
            #expect(stored == [10])
            #expect(try await f.outbox(acme).filter { $0.contains("mfa.totp_enabled") }.count == 1)
        }
    }

    /// `user` with a confirmed second factor (its code's step) and a sign-in waiting for it (its challenge).
    func waitingForSecondFactor(_ twoFactor: TwoFactorRepository, _ flow: PasswordSignIn, _ acme: Tenant,
                                _ user: User) async throws -> (TOTP, step: Int64, challenge: String) {
        let totp = try await twoFactor.enroll(user)
        let step = totp.step(at: .now)
        _ = try await twoFactor.confirm(user, code: totp.code(step: step), actor: IdentityFixture.operatorActor, requestID: nil)
        guard case .secondFactorRequired(let challenge, _) = try await flow.signIn(tenant: acme, email: "ada@acme.test", password: Self.password, origin: origin) else {
            throw TestSetupError("no second factor asked for")
        }
        return (totp, step, challenge)
    }

    @Test func aSignInWaitingForItsSecondFactorEndsWithAPasswordChange() async throws {
        try await TwoFactorSignInTests().withTwoFactor { f, twoFactor, flow, acme, user in
            let (totp, step, challenge) = try await waitingForSecondFactor(twoFactor, flow, acme, user)
            let change = PasswordChange(database: f.database, region: acme.region, hasher: PasswordHasher(parameters: .testing))
            guard case .changed = try await change.change(user: user, current: Self.password, new: "amber lighthouse keeper 77", method: "password", requestID: nil) else {
                Issue.record("change refused"); return
            }
            guard case .refused = try await flow.completeSecondFactor(tenant: acme, challenge: challenge, code: totp.code(step: step + 1), origin: origin) else {
                Issue.record("the old password's sign-in finished after the change"); return
            }
        }
    }

    /// A data-subject erasure covers customers only: a customer made staff while their erasure
    /// runs keeps their account and everything they sign in with.
    @Test func aCustomerPromotedWhileTheirErasureRunsKeepsTheirSessions() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            let grace = try await f.user(acme, "grace@example.org", role: .customer)
            let signIn = PasswordSignIn(database: f.database, region: acme.region, hasher: PasswordHasher(parameters: .testing))
            guard case .signedIn = try await signIn.signIn(tenant: acme, email: "grace@example.org", password: Self.password, origin: origin) else {
                Issue.record("the customer could not sign in"); return
            }
            // Delivered to audit: an erasure waits for nothing in the outbox.
            try await f.database.withTenant(acme.id) { try await $0.query("DELETE FROM outbox_events", logger: TestDatabase.logger) }
            let holder = CustomerDataRepository(database: f.database)
            let code = try await meet(f, lock: "SELECT 1 FROM users WHERE id = '\(grace.id)' FOR UPDATE", waiters: 1, then: { connection in
                // What an admin's promotion commits while the erasure is on its way.
                try await connection.query("UPDATE users SET role = 'agent' WHERE id = \(grace.id)", logger: TestDatabase.logger)
            }) { () -> String? in
                do {
                    _ = try await holder.erase(DataSubject(ids: [grace.id]), tenant: acme.id)
                    return nil
                } catch let problem as ProblemError {
                    return problem.code
                }
            }
            #expect(code == "not_a_customer")
            let left = try await f.database.withTenant(acme.id) { connection in
                try await connection.values("""
                    SELECT (SELECT count(*) FROM sessions WHERE user_id = \(grace.id))::integer
                         + (SELECT count(*) FROM users WHERE id = \(grace.id) AND email = 'grace@example.org' AND status = 'active')::integer
                    """, as: Int.self)
            }
            #expect(left == [2], "the promoted agent's session and account are kept")
        }
    }

    /// A refresh takes the token's user before the token, the order a deactivation takes them
    /// in: the two meeting wait for each other in turn instead of deadlocking, and the
    /// deactivation wins.
    @Test func aRefreshMeetingADeactivationNeitherDeadlocksNorOutlivesIt() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            let user = try await f.user(acme, "ada@acme.test", role: .agent)
            let key = SymmetricKey(size: .bits256)
            let (client, _) = try await OAuthClientRepository(database: f.database, region: acme.region, hashKey: key)
                .create(tenant: acme.id, name: "Partner", confidential: true, redirectURIs: [], scopes: ["tickets:read"],
                        actor: IdentityFixture.operatorActor, requestID: nil)
            let grant = TokenRepository.Grant(tenantID: acme.id, userID: user.id, clientID: client.id, apiKeyID: nil, authenticationMethod: "password",
                                              scopes: ["tickets:read"])
            let refresh = try #require(try await TokenRepository(database: f.database, region: acme.region, hashKey: key).issue(grant, refresh: true).refreshToken)
            let grants = OAuthGrants(database: f.database, region: acme.region, hashKey: key, refreshGrace: 0)
            let outcome = try await meet(f, lock: "SELECT 1 FROM users WHERE id = '\(user.id)' FOR UPDATE", waiters: 1, then: { connection in
                // A deactivation, having taken the user: their tokens revoked.
                try await connection.query("UPDATE users SET status = 'deactivated' WHERE id = \(user.id)", logger: TestDatabase.logger)
                try await connection.query("UPDATE tokens SET revoked_at = now() WHERE user_id = \(user.id) AND revoked_at IS NULL", logger: TestDatabase.logger)
            }) { try await grants.refresh(token: refresh, client: client, scopes: nil) }
            #expect(outcome == .failure(.invalidGrant))
        }
    }

    /// Completing a second factor takes the user before the challenge, the order a password
    /// change takes them in (the user, then the challenges it ends): no deadlock, the change wins.
    @Test func aSecondFactorMeetingAPasswordChangeNeitherDeadlocksNorStartsASession() async throws {
        try await TwoFactorSignInTests().withTwoFactor { f, twoFactor, flow, acme, user in
            let (totp, step, challenge) = try await waitingForSecondFactor(twoFactor, flow, acme, user)
            let changed = try await PasswordHasher(parameters: .testing).hash("amber lighthouse keeper 77")
            let outcome = try await meet(f, lock: "SELECT 1 FROM users WHERE id = '\(user.id)' FOR UPDATE", waiters: 1, then: { connection in
                // A password change, having taken the user: the new hash, and the sign-ins waiting for a second factor ended.
                try await connection.query("UPDATE users SET password_hash = \(changed) WHERE id = \(user.id)", logger: TestDatabase.logger)
                try await connection.query("UPDATE auth_challenges SET used_at = now() WHERE user_id = \(user.id) AND used_at IS NULL", logger: TestDatabase.logger)
            }) { try await flow.completeSecondFactor(tenant: acme, challenge: challenge, code: totp.code(step: step + 1), origin: origin) }
            guard case .refused = outcome else { Issue.record("the old password's sign-in finished after the change: \(outcome)"); return }
            let sessions = try await f.database.withTenant(acme.id) { try await $0.values("SELECT count(*)::integer FROM sessions", as: Int.self) }
            #expect(sessions == [0])
        }
    }
}
