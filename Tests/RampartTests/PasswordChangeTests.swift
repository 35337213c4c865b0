import Foundation
@testable import Identity
import PostgresNIO
import RampartCore
import RampartStorage
import Testing

@Suite("Identity: password change")
struct PasswordChangeTests {
    static let original = "violet submarine harbour 42"
    let origin = PasswordSignIn.Origin(ip: "192.0.2.9", userAgent: nil, requestID: nil)

    func withUser(_ body: @escaping @Sendable (IdentityFixture, PasswordChange, PasswordSignIn, Tenant, User) async throws -> Void) async throws {
        try await IdentityFixture.with { f in
            let hasher = PasswordHasher(parameters: .testing)
            let acme = try await f.tenant("acme")
            let user = try await f.user(acme, "ada@acme.test", role: .agent)
            try await body(f, PasswordChange(database: f.database, region: acme.region, hasher: hasher),
                           PasswordSignIn(database: f.database, region: acme.region, hasher: hasher), acme, user)
        }
    }

    @Test func changingEndsEverySessionAndOnlyTheNewPasswordWorks() async throws {
        try await withUser { f, change, signIn, acme, user in
            guard case .signedIn(_, let old, _, _) = try await signIn.signIn(tenant: acme, email: "ada@acme.test", password: Self.original, origin: origin) else {
                Issue.record("sign-in refused"); return
            }
            guard case .changed(let fresh, _) = try await change.change(user: user, current: Self.original, new: "amber lighthouse keeper 77", method: "password", requestID: nil) else {
                Issue.record("change refused"); return
            }
            #expect(try await f.issuer.sessions.resolve(token: old, tenant: acme.id) == nil)
            #expect(try await f.issuer.sessions.resolve(token: fresh, tenant: acme.id)?.user.id == user.id)
            guard case .refused = try await signIn.signIn(tenant: acme, email: "ada@acme.test", password: Self.original, origin: origin) else { Issue.record("old password still works"); return }
            guard case .signedIn = try await signIn.signIn(tenant: acme, email: "ada@acme.test", password: "amber lighthouse keeper 77", origin: origin) else { Issue.record("new password refused"); return }
            #expect(try await f.outbox(acme).contains { $0.contains("user.password_changed") })
        }
    }

    @Test func wrongCurrentPasswordWeakOrReusedNewPasswordChangeNothing() async throws {
        try await withUser { _, change, signIn, acme, user in
            guard case .wrongCurrentPassword = try await change.change(user: user, current: "not it at all", new: "amber lighthouse keeper 77", method: "password", requestID: nil) else { Issue.record("wrong current accepted"); return }
            guard case .rejected(let weak) = try await change.change(user: user, current: Self.original, new: "password123", method: "password", requestID: nil) else { Issue.record("weak accepted"); return }
            #expect(weak.map(\.code) == ["password_too_short", "password_too_common"])
            guard case .rejected(let same) = try await change.change(user: user, current: Self.original, new: Self.original, method: "password", requestID: nil) else { Issue.record("same password accepted"); return }
            #expect(same.map(\.code) == ["password_reused"])
            guard case .signedIn = try await signIn.signIn(tenant: acme, email: "ada@acme.test", password: Self.original, origin: origin) else { Issue.record("original password lost"); return }
        }
    }

    @Test func pciHistoryRefusesTheLastFourPasswords() async throws {
        try await withUser { f, change, _, acme, user in
            let pci = String(decoding: try JSONEncoder().encode(PasswordPolicy.pci), as: UTF8.self)
            try await f.database.withTenant(acme.id) { connection in
                try await connection.query("INSERT INTO security_settings (tenant_id, staff_password_policy) VALUES (\(acme.id.rawValue), \(pci)::jsonb)", logger: TestDatabase.logger)
            }
            var current = Self.original
            for next in ["amber lighthouse 71", "copper meadow 72", "silver canyon 73"] {
                guard case .changed = try await change.change(user: user, current: current, new: next, method: "password", requestID: nil) else { Issue.record("change to \(next) refused"); return }
                current = next
            }
            // The original is the fourth most recent: still refused under PCI.
            guard case .rejected(let reused) = try await change.change(user: user, current: current, new: Self.original, method: "password", requestID: nil) else { Issue.record("reuse accepted"); return }
            #expect(reused == [.reused(depth: 4)])
            guard case .rejected(let digits) = try await change.change(user: user, current: current, new: "no digits in this one", method: "password", requestID: nil) else { Issue.record("pci rule not applied"); return }
            #expect(digits.map(\.code) == ["password_needs_digit"])
        }
    }
}
