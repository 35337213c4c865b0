import Crypto
import Foundation
@testable import Identity
import PostgresNIO
import RampartCore
import RampartSecurity
import RampartStorage
import Testing

/// Identity's repositories on a fresh, migrated region database, as the runtime role.
struct IdentityFixture: Sendable {
    let tenants: TenantRepository
    let users: UserRepository
    let apiKeys: APIKeyRepository
    let issuer: PrincipalIssuer
    let signingKey: PrincipalSigningKey
    let database: Database
    let testDatabase: TestDatabase

    static let operatorActor = AuditEvent.Actor(type: "operator", id: "test", authenticationMethod: "certificate")

    static func with<R: Sendable>(region: Region = Region(rawValue: "eu")!, _ body: @escaping @Sendable (IdentityFixture) async throws -> R) async throws -> R {
        let db = try await TestDatabase.make(region: region)
        let roles = try db.roles(.identity)
        let runner = try MigrationRunner(schema: SQLIdentifier("identity")!, runtimeRole: roles.runtime, migrations: IdentityMigrations.all)
        try await db.with(try db.url(.identity, owner: true)) { try await runner.migrate(client: $0, logger: TestDatabase.logger) }
        // Four connections: a test may hold one in a transaction while three others race.
        return try await Database.withTemporaryClient(try db.url(.identity, owner: false), logger: TestDatabase.logger, timeout: .seconds(120),
                                                      maximumConnections: 4) { client in
            let database = Database(client: client, logger: TestDatabase.logger)
            let tenants = TenantRepository(database: database, region: region)
            let apiKeys = APIKeyRepository(database: database, region: region, hashKey: SymmetricKey(size: .bits256))
            let signingKey = PrincipalSigningKey.generate()
            let fixture = IdentityFixture(
                tenants: tenants, users: UserRepository(database: database, region: region, hasher: PasswordHasher(parameters: .testing)),
                apiKeys: apiKeys, issuer: PrincipalIssuer(tenants: tenants, apiKeys: apiKeys, sessions: SessionRepository(database: database),
                                                           tokens: TokenRepository(database: database, region: region, hashKey: SymmetricKey(size: .bits256)), signingKey: signingKey,
                                                           csrf: CSRFToken(key: SymmetricKey(size: .bits256))),
                signingKey: signingKey, database: database, testDatabase: db
            )
            return try await body(fixture)
        }
    }

    func tenant(_ slug: String) async throws -> Tenant {
        try await tenants.create(slug: TenantSlug(rawValue: slug)!, displayName: slug.capitalized, plan: .team, actor: Self.operatorActor, requestID: nil)
    }

    func user(_ tenant: Tenant, _ email: String, role: Role = .admin) async throws -> User {
        try await users.create(tenant: tenant, email: email, name: "Test Person", role: role, password: "violet submarine harbour 42", actor: Self.operatorActor, requestID: nil).user
    }

    /// Outbox events of `tenant`, read as that tenant.
    func outbox(_ tenant: Tenant) async throws -> [String] {
        try await database.withTenant(tenant.id) { try await $0.values("SELECT event::text FROM outbox_events ORDER BY occurred_at, id", as: String.self) }
    }
}

@Suite("Identity: tenants and users")
struct IdentityTenantTests {
    @Test func createsListsAndMovesTenantsThroughTheirLife() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            #expect(acme.status == .active)
            #expect(acme.region.rawValue == "eu")
            #expect(try await f.tenants.list().map(\.slug.rawValue) == ["acme"])
            let slug = acme.slug
            #expect(try await f.tenants.setStatus(slug: slug, to: .suspended, actor: IdentityFixture.operatorActor, requestID: nil).status == .suspended)
            await #expect(throws: IdentityError.invalidTransition(from: "suspended", to: "suspended")) {
                try await f.tenants.setStatus(slug: slug, to: .suspended, actor: IdentityFixture.operatorActor, requestID: nil)
            }
            #expect(try await f.tenants.setStatus(slug: slug, to: .active, actor: IdentityFixture.operatorActor, requestID: nil).status == .active)
            #expect(try await f.tenants.setStatus(slug: slug, to: .cancelled, actor: IdentityFixture.operatorActor, requestID: nil).status == .cancelled)
            let actions = try await f.outbox(acme).compactMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }.map { $0["action"] as? String }
            #expect(actions == ["tenant.created", "tenant.suspended", "tenant.reinstated", "tenant.cancelled"])
        }
    }

    @Test func slugIsUniqueInARegion() async throws {
        try await IdentityFixture.with { f in
            _ = try await f.tenant("globex")
            await #expect(throws: IdentityError.slugTaken) { try await f.tenant("globex") }
        }
    }

    @Test func aTenantOfOneRegionDoesNotExistInAnother() async throws {
        _ = try await IdentityFixture.with(region: Region(rawValue: "eu")!) { f in try await f.tenant("initech") }
        let foundInUS = try await IdentityFixture.with(region: Region(rawValue: "us")!) { f in
            try await f.tenants.find(slug: TenantSlug(rawValue: "initech")!)
        }
        #expect(foundInUS == nil)
    }

    @Test func weakPasswordStoresNothingAndNamesEachRule() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            let error = await #expect(throws: IdentityError.self) {
                try await f.users.create(tenant: acme, email: "jane@acme.test", name: "Jane", role: .agent, password: "password1", actor: IdentityFixture.operatorActor, requestID: nil)
            }
            guard case .weakPassword(let violations) = error else { Issue.record("expected a policy refusal"); return }
            #expect(violations.map(\.code) == ["password_too_short", "password_too_common"])
            #expect(try await f.users.find(email: EmailAddress(rawValue: "jane@acme.test")!, tenant: acme.id) == nil)
        }
    }

    @Test func theTenantsPolicyForTheUsersAudienceApplies() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            let pci = String(decoding: try JSONEncoder().encode(PasswordPolicy.pci), as: UTF8.self)
            try await f.database.withTenant(acme.id) { connection in
                try await connection.query("INSERT INTO security_settings (tenant_id, staff_password_policy) VALUES (\(acme.id.rawValue), \(pci)::jsonb)", logger: TestDatabase.logger)
            }
            let lettersOnly = "quiet meadow under snow"
            let error = await #expect(throws: IdentityError.self) {
                try await f.users.create(tenant: acme, email: "agent@acme.test", name: "Agent", role: .agent, password: lettersOnly, actor: IdentityFixture.operatorActor, requestID: nil)
            }
            #expect(error == .weakPassword([.missingDigit]))
            // Customers keep the standards policy.
            let customer = try await f.users.create(tenant: acme, email: "buyer@example.test", name: "Buyer", role: .customer, password: lettersOnly, actor: IdentityFixture.operatorActor, requestID: nil)
            #expect(customer.user.role == .customer)
            #expect(customer.generatedPassword == nil)
            // A generated password satisfies even the PCI staff policy, every time.
            for index in 0..<20 {
                let (_, generated) = try await f.users.create(tenant: acme, email: "staff\(index)@acme.test", name: "Staff", role: .agent, password: nil, actor: IdentityFixture.operatorActor, requestID: nil)
                #expect(generated.map { PasswordPolicy.pci.violations(of: $0, for: .init(email: "x@y.test", name: nil)).isEmpty } == true)
            }
        }
    }

    @Test func emailIsUniqueInATenantButNotAcrossTenants() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            let globex = try await f.tenant("globex")
            _ = try await f.user(acme, "Sam@Example.test")
            await #expect(throws: IdentityError.emailTaken) { try await f.user(acme, "sam@example.test") }
            let other = try await f.user(globex, "sam@example.test")
            #expect(other.tenantID == globex.id)
            // Each tenant sees its own Sam only.
            let seen = try await f.users.find(email: EmailAddress(rawValue: "sam@example.test")!, tenant: acme.id)
            #expect(seen?.tenantID == acme.id)
            #expect(try await f.users.find(id: other.id, tenant: acme.id) == nil)
        }
    }

    @Test func auditEventsCarryNoSecrets() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            let user = try await f.user(acme, "kim@acme.test")
            let (_, credential) = try await f.apiKeys.create(for: user, name: "ci", scopes: ["tickets:read"], allowedCIDRs: [], expiresAt: nil, actor: IdentityFixture.operatorActor, requestID: nil)
            let events = try await f.outbox(acme).joined(separator: "\n")
            #expect(events.contains("user.created"))
            #expect(events.contains("api_key.created"))
            #expect(!events.contains("violet submarine"))
            #expect(!events.contains("argon2"))
            #expect(!events.contains(credential.secret))
        }
    }
}

@Suite("Identity: API keys and principal resolution")
struct APIKeyTests {
    func issue(_ f: IdentityFixture, _ credential: String, tenant: String = "acme", ip: String? = nil) async throws -> Result<PrincipalIssuer.Issued, PrincipalIssuer.Refusal> {
        try await f.issuer.resolve(credential: credential, tenantSlug: tenant, audience: .tickets, clientIP: ip)
    }

    @Test func keyResolvesToASignedPrincipalWithItsScopes() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            let user = try await f.user(acme, "admin@acme.test")
            let (record, credential) = try await f.apiKeys.create(for: user, name: "partner", scopes: ["tickets:read", "audit:read"], allowedCIDRs: [], expiresAt: nil, actor: IdentityFixture.operatorActor, requestID: nil)
            #expect(credential.presented.hasPrefix("rk_\(record.id)_"))
            #expect(credential.secret.count == 43)
            guard case .success(let issued) = try await issue(f, credential.presented, ip: "192.0.2.55") else { Issue.record("refused"); return }
            // Each use records when and from where.
            let lastUse = try await f.database.withTenant(acme.id) {
                try await $0.values("SELECT host(last_used_ip) || ' ' || (last_used_at > now() - interval '1 minute')::text FROM api_keys", as: String.self)
            }
            #expect(lastUse == ["192.0.2.55 true"])
            let verified = try PrincipalVerifier(keys: f.signingKey.publicKeySet, audience: .tickets, region: acme.region).verify(issued.token)
            #expect(verified.tenantID == acme.id)
            #expect(verified.scopes == ["audit:read", "tickets:read"])
            #expect(verified.authenticationMethod == .apiKey)
            #expect(verified.kind == .apiClient)
            // Stored: only the keyed hash.
            let stored = try await f.database.withTenant(acme.id) { try await $0.values("SELECT encode(secret_hash, 'hex') FROM api_keys", as: String.self) }
            #expect(stored.count == 1 && !stored[0].contains(credential.secret))
        }
    }

    @Test func keyOfOneTenantIsRefusedOnAnothersHost() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            _ = try await f.tenant("globex")
            let (_, credential) = try await f.apiKeys.create(for: try await f.user(acme, "a@acme.test"), name: "k", scopes: ["tickets:read"], allowedCIDRs: [], expiresAt: nil, actor: IdentityFixture.operatorActor, requestID: nil)
            guard case .failure(let refusal) = try await issue(f, credential.presented, tenant: "globex") else { Issue.record("accepted on another tenant"); return }
            #expect(refusal == .invalidCredential)
        }
    }

    @Test func forgedRevokedExpiredAndMisplacedKeysAreRefused() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            let user = try await f.user(acme, "a@acme.test")
            func make(cidrs: [String] = [], expires: Date? = nil) async throws -> SecretCredential {
                try await f.apiKeys.create(for: user, name: "k", scopes: ["tickets:read"], allowedCIDRs: cidrs, expiresAt: expires, actor: IdentityFixture.operatorActor, requestID: nil).1
            }
            let good = try await make()
            let forged = SecretCredential(kind: .apiKey, id: good.id, secret: SecretCredential.generate(.apiKey).secret)
            let revoked = try await make()
            try await f.apiKeys.revoke(id: revoked.id, tenant: acme.id, actor: IdentityFixture.operatorActor, requestID: nil)
            let expiring = try await make(expires: .now.addingTimeInterval(1))
            let fenced = try await make(cidrs: ["203.0.113.0/24", "2001:db8::/32"])
            try await Task.sleep(for: .milliseconds(1100))
            for refused in [forged, revoked, expiring] {
                guard case .failure = try await issue(f, refused.presented, ip: "203.0.113.5") else { Issue.record("accepted \(refused.id)"); return }
            }
            guard case .success = try await issue(f, fenced.presented, ip: "203.0.113.5") else { Issue.record("refused inside the allowed network"); return }
            guard case .success = try await issue(f, fenced.presented, ip: "2001:db8::1") else { Issue.record("refused inside the allowed IPv6 network"); return }
            guard case .failure = try await issue(f, fenced.presented, ip: "198.51.100.7") else { Issue.record("accepted outside the allowed network"); return }
            guard case .failure = try await issue(f, fenced.presented, ip: nil) else { Issue.record("accepted without a known address"); return }
            for garbage in ["", "rk_", "rk_short_key", good.presented + "x", "Bearer " + good.presented, String(good.presented.dropLast())] {
                guard case .failure = try await issue(f, garbage) else { Issue.record("accepted \(garbage)"); return }
            }
        }
    }

    @Test func deactivatingAUserRevokesTheirKeysAtOnce() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            let user = try await f.user(acme, "leaver@acme.test")
            let (_, credential) = try await f.apiKeys.create(for: user, name: "k", scopes: ["tickets:read"], allowedCIDRs: [], expiresAt: nil, actor: IdentityFixture.operatorActor, requestID: nil)
            guard case .success = try await issue(f, credential.presented) else { Issue.record("refused before deactivation"); return }
            try await f.users.deactivate(id: user.id, tenant: acme.id, actor: IdentityFixture.operatorActor, requestID: nil)
            guard case .failure = try await issue(f, credential.presented) else { Issue.record("accepted after deactivation"); return }
        }
    }

    @Test func suspendedTenantsIssueNoPrincipals() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            let (_, credential) = try await f.apiKeys.create(for: try await f.user(acme, "a@acme.test"), name: "k", scopes: ["tickets:read"], allowedCIDRs: [], expiresAt: nil, actor: IdentityFixture.operatorActor, requestID: nil)
            // Resolved once, so the tenant is in the resolution cache; suspending must still take effect at once.
            guard case .success = try await issue(f, credential.presented) else { Issue.record("refused for an active tenant"); return }
            _ = try await f.tenants.setStatus(slug: acme.slug, to: .suspended, actor: IdentityFixture.operatorActor, requestID: nil)
            guard case .failure(let refusal) = try await issue(f, credential.presented) else { Issue.record("accepted for a suspended tenant"); return }
            #expect(refusal == .tenantNotActive)
        }
    }

    @Test func scopesMustBeKnownAndWithinTheUsersRole() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            let agent = try await f.user(acme, "agent@acme.test", role: .agent)
            await #expect(throws: IdentityError.scopesExceedRole(["audit:read"])) {
                try await f.apiKeys.create(for: agent, name: "k", scopes: ["tickets:read", "audit:read"], allowedCIDRs: [], expiresAt: nil, actor: IdentityFixture.operatorActor, requestID: nil)
            }
            await #expect(throws: IdentityError.invalidScopes(["everything"])) {
                try await f.apiKeys.create(for: agent, name: "k", scopes: ["everything"], allowedCIDRs: [], expiresAt: nil, actor: IdentityFixture.operatorActor, requestID: nil)
            }
            await #expect(throws: IdentityError.invalidCIDR("10.0.0.0/99")) {
                try await f.apiKeys.create(for: agent, name: "k", scopes: ["tickets:read"], allowedCIDRs: ["10.0.0.0/99"], expiresAt: nil, actor: IdentityFixture.operatorActor, requestID: nil)
            }
            await #expect(throws: IdentityError.invalidExpiry) {
                try await f.apiKeys.create(for: agent, name: "k", scopes: ["tickets:read"], allowedCIDRs: [], expiresAt: .now.addingTimeInterval(-1), actor: IdentityFixture.operatorActor, requestID: nil)
            }
        }
    }
}
