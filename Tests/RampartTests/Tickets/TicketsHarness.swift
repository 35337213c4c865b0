import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import PostgresNIO
import RampartCore
import RampartSecurity
import RampartStorage
import RampartTransport
@testable import Tickets

/// rampart-tickets on loopback with its own database, called as the gateway with principals
/// signed here, as identity would sign them.
struct TicketsHarness: Sendable {
    static let region = Region(rawValue: "eu")!

    let service: RunningService
    let database: TestDatabase
    let signingKey: PrincipalSigningKey
    let client: InternalClient

    /// Someone calling the helpdesk: tenant, kind, subject, roles and scopes as identity issues them.
    struct Actor: Sendable {
        var tenant: TenantID
        var slug: String
        var kind: Principal.Kind
        var subject: String
        var roles: [String]
        var scopes: [String]
        /// A browser session and its anti-CSRF token, as identity signs them into session principals.
        var sessionID: String? = nil
        var csrfToken: String? = nil

        var userID: UUID? { Principal.userID(subject: subject) }

        /// The same user signed in with a browser: a session whose token `csrf` derives.
        func inBrowser(_ csrf: CSRFToken = CSRFToken(key: .init(size: .bits256))) -> Actor {
            var browser = self
            browser.sessionID = UUID().uuidString.lowercased()
            browser.csrfToken = browser.sessionID.map(csrf.token(for:))
            return browser
        }

        static func admin(_ tenant: Tenant, id: UUID = UUID()) -> Actor {
            Actor(tenant: tenant.id, slug: tenant.slug, kind: .admin, subject: "user:\(id.uuidString.lowercased())", roles: ["admin"],
                  scopes: ["audit:read", "security:write", "tickets:read", "tickets:write", "users:write"])
        }
        static func agent(_ tenant: Tenant, id: UUID = UUID()) -> Actor {
            Actor(tenant: tenant.id, slug: tenant.slug, kind: .agent, subject: "user:\(id.uuidString.lowercased())", roles: ["agent"], scopes: ["tickets:read", "tickets:write"])
        }
        static func readOnly(_ tenant: Tenant, id: UUID = UUID()) -> Actor {
            Actor(tenant: tenant.id, slug: tenant.slug, kind: .agent, subject: "user:\(id.uuidString.lowercased())", roles: ["read_only_agent"], scopes: ["tickets:read"])
        }
        static func customer(_ tenant: Tenant, id: UUID = UUID()) -> Actor {
            Actor(tenant: tenant.id, slug: tenant.slug, kind: .customer, subject: "user:\(id.uuidString.lowercased())", roles: ["customer"], scopes: [])
        }
        static func apiKey(_ tenant: Tenant, scopes: [String]) -> Actor {
            Actor(tenant: tenant.id, slug: tenant.slug, kind: .apiClient, subject: "api_key:\(UUID().uuidString.prefix(16).lowercased())", roles: ["admin"], scopes: scopes)
        }
    }

    struct Tenant: Sendable {
        let id: TenantID
        let slug: String
        static func make(_ slug: String) -> Tenant { Tenant(id: .random(), slug: slug) }
    }

    struct Reply: @unchecked Sendable {
        let status: Int
        let json: [String: Any]
        let headers: HTTPHeaders
        let body: Data

        var data: [String: Any] { json["data"] as? [String: Any] ?? [:] }
        var list: [[String: Any]] { json["data"] as? [[String: Any]] ?? [] }
        var code: String? { json["code"] as? String }
        var id: String { data["id"] as? String ?? "" }
        var fields: [String] { (json["errors"] as? [[String: Any]])?.compactMap { $0["field"] as? String } ?? [] }
    }

    /// Runs `body` against a fresh service and database (or `database`, with `pki`, shared with
    /// an identity started by the test); `routes` receives the registered routes. With
    /// `identityURL`, the pages ask that identity's staff directory for names.
    static func with<R: Sendable>(routes seen: (@Sendable ([String]) -> Void)? = nil, pki given: TestPKI? = nil, database shared: TestDatabase? = nil,
                                  identityURL: String? = nil, staffSettings: StaffDirectory.Settings = .init(),
                                  _ body: @escaping @Sendable (TicketsHarness) async throws -> R) async throws -> R {
        let pki = try given ?? TestPKI()
        let signingKey = PrincipalSigningKey.generate()
        let database: TestDatabase
        if let shared { database = shared } else { database = try await TestDatabase.make() }
        let staff = try identityURL.map {
            StaffDirectory(identityURL: $0, tls: try InternalTLS(files: try pki.files(for: .service(.tickets, region))), logger: TestDatabase.logger,
                           settings: staffSettings)
        } ?? StaffDirectory()
        return try await RunningService.with(
            .tickets, region: region, pki: pki, signingKey: signingKey, database: database, migrations: TicketsMigrations.all,
            services: { _ in [staff] },
            routes: { router, runtime in
                try TicketsService.register(on: router, runtime: runtime, keyring: try TenantKeyring.load(config: runtime.config), staff: staff)
                seen?(router.routes.map { "\($0.method.rawValue) \($0.path)" })
            }
        ) { service in
            let client = InternalClient(tls: try InternalTLS(files: try pki.files(for: .service(.gateway, region))))
            do {
                let result = try await body(TicketsHarness(service: service, database: database, signingKey: signingKey, client: client))
                try await client.shutdown()
                return result
            } catch {
                try? await client.shutdown()
                throw error
            }
        }
    }

    /// A principal token for `actor`, addressed to tickets.
    func principal(_ actor: Actor) throws -> String {
        let principal = Principal(tenantID: actor.tenant, tenantSlug: TenantSlug(rawValue: actor.slug)!, region: Self.region, subject: actor.subject,
                                  kind: actor.kind, roles: actor.roles, scopes: actor.scopes,
                                  authenticationMethod: actor.kind == .apiClient ? .apiKey : .password, sessionID: actor.sessionID,
                                  csrfToken: actor.csrfToken)
        return try PrincipalToken.sign(principal, audience: .tickets, key: signingKey)
    }

    /// Sends a request as the gateway forwarding `actor` (nil: no principal).
    @discardableResult
    func send(_ actor: Actor?, _ method: HTTPMethod, _ path: String, json: String? = nil, body: Data? = nil, contentType: String = "application/json",
              headers: [(String, String)] = []) async throws -> Reply {
        let reply = try await client.send(method, url: service.baseURL + path, principal: try actor.map(principal), body: json.map { Data($0.utf8) } ?? body,
                                          contentType: contentType, headers: headers, maximumBodyBytes: 32 * 1024 * 1024)
        let parsed = (try? JSONSerialization.jsonObject(with: reply.body)) as? [String: Any] ?? [:]
        return Reply(status: reply.status, json: parsed, headers: reply.headers, body: reply.body)
    }

    /// Creates a ticket as `actor` and returns its id (the test fails on anything but 201).
    func ticket(_ actor: Actor, subject: String = "Printer on fire", body: String = "It smells of toner.", extra: String = "") async throws -> String {
        let reply = try await send(actor, .POST, "/api/v1/tickets", json: #"{"subject":\#(Self.quoted(subject)),"message":{"body":\#(Self.quoted(body))}\#(extra)}"#)
        guard reply.status == 201 else { throw TestSetupError("ticket create: \(reply.status) \(String(decoding: reply.body, as: UTF8.self))") }
        return reply.id
    }

    static func quoted(_ text: String) -> String {
        String(decoding: try! JSONEncoder().encode(text), as: UTF8.self)
    }

    /// Runs `body` with a superuser connection to this suite's database (bypassing row-level security).
    func asSuperuser<R: Sendable>(_ body: @escaping @Sendable (PostgresClient) async throws -> R) async throws -> R {
        try await database.with(database.superuserHere, body)
    }
}
