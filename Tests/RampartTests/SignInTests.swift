import Foundation
@testable import Identity
import PostgresNIO
import RampartCore
import RampartSecurity
import RampartStorage
import Testing

@Suite("Identity: password sign-in, lockout and sessions")
struct SignInTests {
    static let password = "violet submarine harbour 42"
    let origin = PasswordSignIn.Origin(ip: "192.0.2.10", userAgent: "tests", requestID: nil)

    func signIn(_ f: IdentityFixture, parameters: Argon2Parameters = .testing) -> PasswordSignIn {
        PasswordSignIn(database: f.database, region: Region(rawValue: "eu")!, hasher: PasswordHasher(parameters: parameters))
    }

    @Test func rightPasswordStartsASessionThatResolvesToThePrincipal() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            let user = try await f.user(acme, "ada@acme.test", role: .agent)
            guard case .signedIn(let signedIn, let token, _, let expires) = try await signIn(f).signIn(tenant: acme, email: "ADA@acme.test", password: Self.password, origin: origin) else {
                Issue.record("refused"); return
            }
            #expect(signedIn.id == user.id)
            #expect(expires > .now.addingTimeInterval(23 * 3600))
            guard case .success(let issued) = try await f.issuer.resolve(sessionToken: token, tenantSlug: "acme", audience: .tickets) else { Issue.record("session refused"); return }
            #expect(issued.principal.kind == .agent)
            #expect(issued.principal.scopes == ["tickets:read", "tickets:write"])
            #expect(issued.principal.authenticationMethod == .password)
            // Only the token's SHA-256 is stored.
            let stored = try await f.database.withTenant(acme.id) { try await $0.values("SELECT encode(token_hash, 'base64') FROM sessions", as: String.self) }
            #expect(stored.count == 1 && !stored[0].contains(token))
            // The session does not open another tenant's door.
            _ = try await f.tenant("globex")
            guard case .failure = try await f.issuer.resolve(sessionToken: token, tenantSlug: "globex", audience: .tickets) else { Issue.record("cross-tenant session accepted"); return }
        }
    }

    @Test func wrongPasswordUnknownAccountAndDeactivatedUserAllGetTheSameRefusal() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            let leaver = try await f.user(acme, "leaver@acme.test")
            _ = try await f.user(acme, "ada@acme.test")
            try await f.users.deactivate(id: leaver.id, tenant: acme.id, actor: IdentityFixture.operatorActor, requestID: nil)
            let flow = signIn(f)
            for (email, password) in [("ada@acme.test", "wrong password here"), ("nobody@acme.test", Self.password), ("leaver@acme.test", Self.password)] {
                guard case .refused = try await flow.signIn(tenant: acme, email: email, password: password, origin: origin) else {
                    Issue.record("\(email) was not refused"); return
                }
            }
            let failures = try await f.outbox(acme).filter { $0.contains("auth.sign_in_failed") }
            #expect(failures.count == 3)
            #expect(failures.allSatisfy { !$0.contains("wrong password") && !$0.contains("violet") })
        }
    }

    @Test func everyRefusedPathDoesExactlyOnePasswordHashingComputation() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            let leaver = try await f.user(acme, "leaver@acme.test")
            _ = try await f.user(acme, "ada@acme.test")
            try await f.users.deactivate(id: leaver.id, tenant: acme.id, actor: IdentityFixture.operatorActor, requestID: nil)
            let meter = PasswordHasher.Meter()
            let flow = PasswordSignIn(database: f.database, region: acme.region, hasher: PasswordHasher(parameters: .testing, meter: meter))
            // Wrong password, unknown account, deactivated account: the same Argon2id work, so
            // response time does not tell which accounts exist.
            for (index, email) in ["ada@acme.test", "ghost@acme.test", "leaver@acme.test"].enumerated() {
                let before = meter.count
                let origin = PasswordSignIn.Origin(ip: "198.51.100.\(index)", userAgent: nil, requestID: nil)
                _ = try await flow.signIn(tenant: acme, email: email, password: "not the password", origin: origin)
                #expect(meter.count - before == 1, "\(email)")
            }
        }
    }

    @Test func fiveFailuresLockTheAccountEvenForTheRightPassword() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            _ = try await f.user(acme, "ada@acme.test")
            let flow = signIn(f)
            for index in 0..<5 {
                let origin = PasswordSignIn.Origin(ip: "203.0.113.\(index)", userAgent: nil, requestID: nil)
                guard case .refused = try await flow.signIn(tenant: acme, email: "ada@acme.test", password: "guess \(index)", origin: origin) else { Issue.record("attempt \(index)"); return }
            }
            guard case .throttled(let wait) = try await flow.signIn(tenant: acme, email: "ada@acme.test", password: Self.password, origin: origin) else {
                Issue.record("not locked after five failures"); return
            }
            #expect(wait > .seconds(30) && wait <= .seconds(60))
            // Hammering a locked account neither lengthens the lock nor floods the audit log.
            for _ in 0..<20 {
                _ = try await flow.signIn(tenant: acme, email: "ada@acme.test", password: "more guesses", origin: origin)
            }
            guard case .throttled(let later) = try await flow.signIn(tenant: acme, email: "ada@acme.test", password: Self.password, origin: origin) else {
                Issue.record("lock lifted"); return
            }
            #expect(later <= .seconds(60))
            #expect(try await f.outbox(acme).filter { $0.contains("auth.locked_out") }.count == 1)
        }
    }

    @Test func parallelGuessesCannotSlipPastTheLimit() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            _ = try await f.user(acme, "ada@acme.test")
            let flow = signIn(f)
            let outcomes = try await withThrowingTaskGroup(of: String.self) { group in
                for index in 0..<12 {
                    group.addTask {
                        let origin = PasswordSignIn.Origin(ip: "203.0.113.\(index)", userAgent: nil, requestID: nil)
                        switch try await flow.signIn(tenant: acme, email: "ada@acme.test", password: "guess \(index)", origin: origin) {
                        case .refused: return "refused"
                        case .throttled: return "throttled"
                        case .signedIn, .secondFactorRequired: return "signed-in"
                        }
                    }
                }
                return try await group.reduce(into: [String: Int]()) { $0[$1, default: 0] += 1 }
            }
            // Exactly five guesses were checked; the other seven never reached the password.
            #expect(outcomes == ["refused": 5, "throttled": 7])
        }
    }

    @Test func unknownAccountsLockLikeKnownOnes() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            let flow = signIn(f)
            for index in 0..<5 {
                let origin = PasswordSignIn.Origin(ip: "203.0.113.\(index)", userAgent: nil, requestID: nil)
                _ = try await flow.signIn(tenant: acme, email: "ghost@acme.test", password: "guess \(index)", origin: origin)
            }
            guard case .throttled = try await flow.signIn(tenant: acme, email: "ghost@acme.test", password: "guess", origin: origin) else {
                Issue.record("unknown account not locked: lockout would reveal which accounts exist"); return
            }
        }
    }

    @Test func oneAddressGuessingManyAccountsIsLockedToo() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            let flow = signIn(f)
            for index in 0..<30 {
                _ = try await flow.signIn(tenant: acme, email: "user\(index)@acme.test", password: "Spring2026!", origin: origin)
            }
            guard case .throttled = try await flow.signIn(tenant: acme, email: "fresh@acme.test", password: "Spring2026!", origin: origin) else {
                Issue.record("password spraying from one address not throttled"); return
            }
        }
    }

    @Test func expiredRevokedAndDeactivatedSessionsStopWorking() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            let user = try await f.user(acme, "ada@acme.test")
            let flow = signIn(f)
            func token(_ ip: String) async throws -> String {
                guard case .signedIn(_, let token, _, _) = try await flow.signIn(tenant: acme, email: "ada@acme.test", password: Self.password,
                                                                                 origin: .init(ip: ip, userAgent: nil, requestID: nil)) else { throw TestSetupError("sign-in refused") }
                return token
            }
            let idle = try await token("192.0.2.1")
            let revoked = try await token("192.0.2.2")
            let absolute = try await token("192.0.2.3")
            let live = try await token("192.0.2.4")
            let sessions = f.issuer.sessions
            try await f.testDatabase.with(f.testDatabase.superuserHere) { client in
                try await client.query("UPDATE identity.sessions SET idle_expires_at = now() - interval '1 second' WHERE token_hash = \(SessionRepository.hash(idle))")
                try await client.query("UPDATE identity.sessions SET absolute_expires_at = now() - interval '1 second' WHERE token_hash = \(SessionRepository.hash(absolute))")
            }
            try await sessions.revoke(sessionToken: revoked, tenant: acme.id)
            for dead in [idle, revoked, absolute, "garbage-token-value-that-is-long-enough"] {
                #expect(try await sessions.resolve(token: dead, tenant: acme.id) == nil)
            }
            #expect(try await sessions.resolve(token: live, tenant: acme.id)?.user.id == user.id)
            try await f.users.deactivate(id: user.id, tenant: acme.id, actor: IdentityFixture.operatorActor, requestID: nil)
            #expect(try await sessions.resolve(token: live, tenant: acme.id) == nil)
        }
    }
}

@Suite("Identity: session management")
struct SessionManagementTests {
    @Test func usersSeeAndEndTheirOwnSessionsOnly() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            let ada = try await f.user(acme, "ada@acme.test")
            let bob = try await f.user(acme, "bob@acme.test")
            let flow = PasswordSignIn(database: f.database, region: acme.region, hasher: PasswordHasher(parameters: .testing))
            func signIn(_ email: String, _ agent: String) async throws -> (String, UUID) {
                guard case .signedIn(_, let token, let id, _) = try await flow.signIn(tenant: acme, email: email, password: SignInTests.password,
                                                                                     origin: .init(ip: "192.0.2.1", userAgent: agent, requestID: nil)) else { throw TestSetupError("refused") }
                return (token, id)
            }
            let (laptop, laptopID) = try await signIn("ada@acme.test", "laptop")
            let (phone, _) = try await signIn("ada@acme.test", "phone")
            let (_, bobsID) = try await signIn("bob@acme.test", "bob's")
            let sessions = f.issuer.sessions
            let listed = try await sessions.list(user: ada.id, tenant: acme.id)
            #expect(Set(listed.compactMap(\.userAgent)) == ["laptop", "phone"])
            #expect(listed.allSatisfy { $0.ip == "192.0.2.1" })
            let actor = IdentityFixture.operatorActor
            // Bob's session id under Ada's name ends nothing.
            #expect(try await sessions.revoke(user: ada.id, sessionID: bobsID, tenant: acme.id, actor: actor, region: acme.region, requestID: nil) == 0)
            #expect(try await sessions.revoke(user: ada.id, sessionID: laptopID, tenant: acme.id, actor: actor, region: acme.region, requestID: nil) == 1)
            #expect(try await sessions.resolve(token: laptop, tenant: acme.id) == nil)
            #expect(try await sessions.resolve(token: phone, tenant: acme.id) != nil)
            #expect(try await sessions.revoke(user: ada.id, sessionID: nil, tenant: acme.id, actor: actor, region: acme.region, requestID: nil) == 1)
            #expect(try await sessions.list(user: ada.id, tenant: acme.id).isEmpty)
            #expect(try await sessions.list(user: bob.id, tenant: acme.id).count == 1)
            #expect(try await f.outbox(acme).contains { $0.contains("session.revoked_all") })
        }
    }
}

extension SessionRepository.Active: Equatable {
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.id == rhs.id }
}
