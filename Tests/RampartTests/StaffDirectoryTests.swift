import Foundation
@testable import Identity
import RampartCore
import RampartSecurity
import RampartTransport
import Testing

/// Identity's internal staff directory (`GET /internal/v1/staff-directory/{tenant}`), which names
/// agents and admins on tickets' pages: staff only, nothing a colleague would not see, one
/// tenant's people only, tickets as the only caller, bounded pages.
@Suite("Identity: staff directory for tickets")
struct StaffDirectoryTests {
    static let eu = Region(rawValue: "eu")!

    /// A tenant's people as the operator API created them: name → user id.
    struct People: Sendable {
        let tenant: String
        let ids: [String: String]
    }

    /// Identity with tenants `acme` (an admin, an agent, a read-only agent, a customer) and
    /// `globex` (one agent), over mutual TLS.
    /// A real identity (its routes, a key of its own) on a fresh database, with `pki` and the
    /// database for the other services a test starts beside it.
    static func withIdentity(_ body: @escaping @Sendable (RunningService, TestPKI, TestDatabase) async throws -> Void) async throws {
        let pki = try TestPKI()
        let database = try await TestDatabase.make()
        try await RunningService.with(
            .identity, region: eu, pki: pki, signingKey: .generate(), database: database, migrations: IdentityMigrations.all,
            routes: { router, runtime in try IdentityService.register(on: router, runtime: runtime, keys: try IdentityKeys(config: runtime.config)) }
        ) { service in try await body(service, pki, database) }
    }

    static func withDirectory(_ body: @escaping @Sendable (RunningService, TestPKI, TestDatabase, People, People) async throws -> Void) async throws {
        try await withIdentity { service, pki, database in
            let acme = try await createTenant("acme", [("Ada Admin", "admin"), ("Bob Agent", "agent"), ("Rita Reader", "read_only_agent"), ("Carl Customer", "customer")],
                                              identity: service, pki: pki)
            let globex = try await createTenant("globex", [("Gina Globex", "agent")], identity: service, pki: pki)
            try await body(service, pki, database, acme, globex)
        }
    }

    static func createTenant(_ slug: String, _ people: [(String, String)], identity: RunningService, pki: TestPKI) async throws -> People {
        try await call(pki, as: .operator("alice")) { client in
            let base = identity.baseURL + "/internal/v1/operator/tenants"
            let created = try await client.send(.POST, url: base, body: Data(#"{"slug":"\#(slug)","display_name":"\#(slug)"}"#.utf8))
            let tenant = try #require(json(created.body)["id"] as? String, "tenant: \(created.status)")
            var ids: [String: String] = [:]
            for (name, role) in people {
                let email = name.lowercased().filter { $0.isLetter || $0 == " " }.replacingOccurrences(of: " ", with: ".") + "@\(slug).test"
                let user = try await client.send(.POST, url: base + "/\(slug)/users",
                                                 body: try JSONSerialization.data(withJSONObject: ["email": email, "name": name, "role": role]))
                ids[name] = try #require((json(user.body)["user"] as? [String: Any])?["id"] as? String, "user: \(user.status)").lowercased()
            }
            return People(tenant: tenant, ids: ids)
        }
    }

    static func call<R: Sendable>(_ pki: TestPKI, as caller: CallerIdentity, _ body: (InternalClient) async throws -> R) async throws -> R {
        try await BrowserSuiteTests.withClient(try InternalTLS(files: try pki.files(for: caller)), body)
    }

    static func json(_ data: Data) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
    }

    /// The directory as `caller` gets it: status, entries, `next`, the raw body.
    static func directory(_ identity: RunningService, _ pki: TestPKI, as caller: CallerIdentity = .service(.tickets, eu), tenant: String,
                          query: String = "") async throws -> (status: Int, staff: [[String: Any]], next: String?, body: String) {
        let reply = try await call(pki, as: caller) { client in
            try await client.send(.GET, url: identity.baseURL + "/internal/v1/staff-directory/\(tenant)" + query)
        }
        let parsed = json(reply.body)
        return (reply.status, parsed["data"] as? [[String: Any]] ?? [], parsed["next"] as? String, String(decoding: reply.body, as: UTF8.self))
    }

    @Test func ticketsGetsTheTenantsStaffByNameAndNothingMore() async throws {
        try await Self.withDirectory { identity, pki, database, acme, _ in
            let answer = try await Self.directory(identity, pki, tenant: acme.tenant)
            #expect(answer.status == 200)
            let byName = Dictionary(uniqueKeysWithValues: answer.staff.map { ($0["name"] as? String ?? "", $0) })
            #expect(Set(byName.keys) == ["Ada Admin", "Bob Agent", "Rita Reader"], "staff only: never the customer")
            #expect(byName["Ada Admin"]?["role"] as? String == "admin" && byName["Rita Reader"]?["role"] as? String == "read_only_agent")
            #expect((byName["Bob Agent"]?["id"] as? String)?.lowercased() == acme.ids["Bob Agent"])
            for entry in answer.staff {
                #expect(Set(entry.keys) == ["id", "name", "role", "active"], "what a colleague sees, nothing else: \(entry.keys)")
                #expect(entry["active"] as? Bool == true)
            }
            #expect(!answer.body.contains("@acme.test") && !answer.body.contains("Carl"), "no email address, no customer anywhere in the answer")
            #expect(answer.next == nil)

            // A deactivated agent stays listed (their old messages keep a name), marked inactive.
            let bob = try #require(acme.ids["Bob Agent"])
            _ = try await database.with(database.superuserHere) { client in
                try await client.query("UPDATE identity.users SET status = 'deactivated' WHERE id = \(UUID(uuidString: bob)!)")
            }
            let after = try await Self.directory(identity, pki, tenant: acme.tenant)
            #expect(after.staff.first { ($0["id"] as? String)?.lowercased() == bob }?["active"] as? Bool == false)
        }
    }

    @Test func anotherTenantsIdGivesNothingOfThisTenant() async throws {
        try await Self.withDirectory { identity, pki, _, acme, globex in
            let other = try await Self.directory(identity, pki, tenant: globex.tenant)
            #expect(other.status == 200)
            #expect(other.staff.map { $0["name"] as? String } == ["Gina Globex"])
            for name in acme.ids.keys { #expect(!other.body.contains(name)) }
            let nobody = try await Self.directory(identity, pki, tenant: UUID().uuidString.lowercased())
            #expect(nobody.status == 200 && nobody.staff.isEmpty, "a tenant this region does not hold lists nobody")
            let malformed = try await Self.directory(identity, pki, tenant: "acme")
            #expect(malformed.status == 400 && malformed.body.contains("invalid_tenant"))
        }
    }

    @Test func onlyTicketsAndAuditMayAsk() async throws {
        try await Self.withDirectory { identity, pki, _, acme, _ in
            let audit = try await Self.directory(identity, pki, as: .service(.audit, Self.eu), tenant: acme.tenant)
            #expect(audit.status == 200 && audit.body.contains("Ada Admin"), "audit's log viewer names staff too")
            for caller in [CallerIdentity.service(.gateway, Self.eu), .service(.backup, Self.eu), .service(.status, Self.eu),
                           .service(.identity, Self.eu), .operator("alice")] {
                let refused = try await Self.directory(identity, pki, as: caller, tenant: acme.tenant)
                #expect(refused.status == 403, "\(caller)")
                #expect(!refused.body.contains("Ada Admin"), "\(caller)")
            }
            // Tickets or audit of another region is not this region's caller.
            for service in [ServiceName.tickets, .audit] {
                let foreign = try await Self.directory(identity, pki, as: .service(service, Region(rawValue: "us")!), tenant: acme.tenant)
                #expect(foreign.status == 403, "\(service)")
            }
        }
    }

    @Test func pagesAreBoundedAndFollowById() async throws {
        try await Self.withDirectory { identity, pki, _, acme, _ in
            let first = try await Self.directory(identity, pki, tenant: acme.tenant, query: "?limit=2")
            #expect(first.status == 200 && first.staff.count == 2)
            let next = try #require(first.next)
            #expect(next.lowercased() == (first.staff.last?["id"] as? String)?.lowercased())
            let second = try await Self.directory(identity, pki, tenant: acme.tenant, query: "?limit=2&after=\(next)")
            #expect(second.status == 200 && second.staff.count == 1 && second.next == nil)
            let names = Set((first.staff + second.staff).compactMap { $0["name"] as? String })
            #expect(names == ["Ada Admin", "Bob Agent", "Rita Reader"])
            for (bad, code) in [("?limit=0", "invalid_limit"), ("?limit=501", "invalid_limit"), ("?limit=many", "invalid_limit"), ("?after=someone", "invalid_cursor")] {
                let refused = try await Self.directory(identity, pki, tenant: acme.tenant, query: bad)
                #expect(refused.status == 400, "\(bad)")
                #expect(Self.json(Data(refused.body.utf8))["code"] as? String == code, "\(bad): \(refused.body)")
            }
            #expect(StaffDirectoryRoutes.maximumLimit == 500)
        }
    }
}
