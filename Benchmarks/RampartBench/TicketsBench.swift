import ArgumentParser
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import RampartCore
import RampartSecurity
import RampartStorage
import RampartTransport
import Tickets

/// `rampart-bench tickets …`: the helpdesk at a million tickets (`make bench-tickets`).
struct TicketsBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tickets", abstract: "Provision tenants, seed tickets and measure the helpdesk API.",
        subcommands: [Provision.self, Seed.self, Measure.self]
    )

    /// The tenants a run works with, written by `provision` (mode 0600: it holds API keys).
    struct TenantsFile: Codable {
        struct Tenant: Codable {
            var id: String
            var slug: String
            /// An admin's API key (`tickets:read`, `tickets:write`), for the tenants measured through the gateway.
            var apiKey: String?

            enum CodingKeys: String, CodingKey {
                case id, slug
                case apiKey = "api_key"
            }
        }

        var tenants: [Tenant]

        static func read(_ path: String) throws -> TenantsFile {
            try JSONDecoder().decode(TenantsFile.self, from: try Data(contentsOf: URL(fileURLWithPath: path)))
        }
    }

    /// Creates tenants through identity's operator API (tenant row, data key, audit event: what
    /// `rampartctl tenant create` does), several at a time, and for the first `--keyed` of them
    /// an admin with an API key.
    struct Provision: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create benchmark tenants through identity's operator API.")

        @Option(help: "Identity's internal URL.") var identity: String
        @Option(help: "The internal CA certificate.") var ca: String
        @Option(help: "An operator certificate.") var operatorCert: String
        @Option(help: "Its private key.") var operatorKey: String
        @Option(help: "How many tenants.") var count: Int = 1000
        @Option(help: "How many of the first tenants get an admin with an API key.") var keyed: Int = 10
        @Option(help: "Tenant slugs are <prefix>-0001 …") var prefix: String = "bench"
        @Option(help: "Requests in flight at once.") var concurrency: Int = 8
        @Option(help: "Where to write the tenants (mode 0600).") var out: String

        func run() async throws {
            let client = InternalClient(tls: try InternalTLS(files: .init(caCertificatePath: ca, certificatePath: operatorCert, privateKeyPath: operatorKey)))
            let base = identity + "/internal/v1/operator/tenants"
            let call: @Sendable (String, [String: any Sendable]) async throws -> [String: Any] = { path, body in
                let reply = try await client.send(.POST, url: base + path, body: try JSONSerialization.data(withJSONObject: body))
                guard reply.status == 201, let json = try JSONSerialization.jsonObject(with: reply.body) as? [String: Any] else {
                    throw ValidationError("identity answered HTTP \(reply.status) to POST \(path.isEmpty ? "/tenants" : path)")
                }
                return json
            }
            let (count, keyed, prefix, concurrency) = (self.count, self.keyed, self.prefix, self.concurrency)
            let started = ContinuousClock.now
            let created = try await withThrowingTaskGroup(of: [(Int, TenantsFile.Tenant)].self) { group in
                for worker in 0..<concurrency {
                    group.addTask {
                        var made: [(Int, TenantsFile.Tenant)] = []
                        for index in stride(from: worker, to: count, by: concurrency) {
                            let slug = prefix + "-" + String(format: "%04d", index + 1)
                            let tenant = try await call("", ["slug": slug, "display_name": "Bench \(index + 1)", "plan": "team"])
                            guard let id = tenant["id"] as? String else { throw ValidationError("identity answered a tenant without an id") }
                            var apiKey: String?
                            if index < keyed {
                                let email = "admin@\(slug).example"
                                _ = try await call("/\(slug)/users", ["email": email, "name": "Bench Admin", "role": "admin"])
                                apiKey = try await call("/\(slug)/api-keys", ["user_email": email, "name": "bench", "scopes": ["tickets:read", "tickets:write"]])["key"] as? String
                            }
                            made.append((index, .init(id: id, slug: slug, apiKey: apiKey)))
                        }
                        return made
                    }
                }
                return try await group.reduce(into: [(Int, TenantsFile.Tenant)]()) { $0 += $1 }.sorted { $0.0 < $1.0 }.map(\.1)
            }
            let elapsed = Load.seconds(ContinuousClock.now - started)
            try await client.shutdown()
            try SecretOutput.write(try JSONEncoder().encode(TenantsFile(tenants: created)), to: out)
            print(String(format: #"{"tenants":%d,"keyed":%d,"seconds":%.1f}"#, created.count, min(keyed, count), elapsed))
        }
    }

    /// Seeds `--per-tenant` tickets into each of `--count` tenants from `--first`, sealed with each
    /// tenant's real key and indexed with its real search key (`TicketSeeder`), as tickets' runtime
    /// role under row-level security.
    struct Seed: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write sealed, indexed tickets straight into the tickets schema.")

        @Option(help: "The tickets service's configuration file (database, key-encryption key, key store).") var config: String
        @Option(help: "The tenants file `provision` wrote.") var tenants: String
        @Option(help: "The first tenant (0-based) to seed.") var first: Int = 0
        @Option(help: "How many tenants to seed.") var count: Int
        @Option(help: "Tickets per tenant.") var perTenant: Int = 1000
        @Option(help: "Tickets per INSERT batch (one transaction).") var batch: Int = 500
        @Option(help: "Tenants seeded at once.") var concurrency: Int = 2

        func run() async throws {
            let config = try ServiceConfig.load(service: .tickets, environment: ["RAMPART_CONFIG_FILE": self.config])
            guard let url = config.database else { throw ValidationError("the tickets configuration names no database") }
            let all = try TenantsFile.read(tenants).tenants
            guard first >= 0, count >= 0, first + count <= all.count else { throw ValidationError("--first/--count outside the \(all.count) tenants") }
            var logger = Logger(label: "rampart-bench")
            logger.logLevel = .warning
            let database = Database(url: url, logger: logger, maximumConnections: concurrency)
            let running = Task { await database.client.run() }
            defer { running.cancel() }
            let seeder = TicketSeeder(database: database, keyring: try TenantKeyring.load(config: config), region: config.region)
            let now = Date()
            let (first, count, perTenant, batch, concurrency) = (self.first, self.count, self.perTenant, self.batch, self.concurrency)
            let started = ContinuousClock.now
            let written = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
                for worker in 0..<concurrency {
                    group.addTask {
                        var totals = (0, 0)
                        for index in stride(from: first + worker, to: first + count, by: concurrency) {
                            guard let tenant = TenantID(all[index].id) else { throw ValidationError("tenant \(all[index].slug) has no valid id") }
                            var corpus = TicketCorpus(tenant: index)
                            var remaining = perTenant
                            while remaining > 0 {
                                let tickets = corpus.tickets(min(batch, remaining), now: now)
                                try await seeder.write(tickets, tenant: tenant)
                                totals.0 += tickets.count
                                totals.1 += tickets.reduce(0) { $0 + $1.messages.count }
                                remaining -= tickets.count
                            }
                        }
                        return totals
                    }
                }
                return try await group.reduce((0, 0)) { ($0.0 + $1.0, $0.1 + $1.1) }
            }
            let seconds = Load.seconds(ContinuousClock.now - started)
            print(String(format: #"{"tenants":%d,"tickets":%d,"messages":%d,"seconds":%.1f,"tickets_per_second":%.0f}"#,
                         count, written.0, written.1, seconds, Double(written.0) / max(seconds, 0.001)))
        }
    }

    /// p50/p99 and throughput of six helpdesk operations on the measured tenants, directly
    /// (mutual TLS, a principal signed with identity's key, as the gateway forwards it) and
    /// through the public edge with each tenant's API key.
    struct Measure: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Measure list, deep page, get, search, create and reply, direct and through the gateway.")

        @Option(help: "Tickets' internal URL.") var tickets: String
        @Option(help: "The internal CA certificate (also the public edge's issuer locally).") var ca: String
        @Option(help: "A gateway certificate of the region.") var cert: String
        @Option(help: "Its private key.") var key: String
        @Option(help: "Identity's principal signing key file.") var signingKey: String
        @Option(help: "The public edge's port (tenants are <slug>.<region>.<domain>).") var publicPort: Int
        @Option(help: "The region.") var region: String = "eu"
        @Option(help: "The public base domain.") var baseDomain: String = "localhost"
        @Option(help: "The tenants file `provision` wrote; the tenants with an API key are measured.") var tenants: String
        @Option(help: "Seconds per operation and path.") var seconds: Int = 10
        @Option(help: "Requests in flight at once.") var concurrency: Int = 8
        @Option(help: "The deep page: the page after this many tickets.") var deepAfter: Int = 500

        enum Operation: String, CaseIterable {
            case listFirst = "list_first", listDeep = "list_deep", get, search, create, reply
        }

        /// What one measured tenant offers the operations: its deep cursor, ticket ids, open ones.
        struct Target: Sendable {
            var tenant: TenantsFile.Tenant
            var principal: Principal
            var deepCursor: String
            var ids: [String]
            var replyable: [String]
        }

        func run() async throws {
            guard let region = Region(rawValue: region) else { throw ValidationError("--region is not a region") }
            let measured = try TenantsFile.read(tenants).tenants.filter { $0.apiKey != nil }
            guard !measured.isEmpty else { throw ValidationError("no tenant in \(tenants) has an API key") }
            let signing = try PrincipalSigningKey(fileContents: try Data(contentsOf: URL(fileURLWithPath: signingKey)))
            let direct = InternalClient(tls: try InternalTLS(files: .init(caCertificatePath: ca, certificatePath: cert, privateKeyPath: key)))
            var edgeTLS = TLSConfiguration.makeClientConfiguration()
            edgeTLS.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca))
            let edge = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: edgeTLS, redirectConfiguration: .disallow))
            do {
                let document = try await measure(region: region, signing: signing, direct: direct, edge: edge, tenants: measured)
                print(String(decoding: try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys]), as: UTF8.self))
            } catch {
                try? await direct.shutdown()
                try? await edge.shutdown()
                throw error
            }
            try await direct.shutdown()
            try await edge.shutdown()
        }

        /// Every operation on both paths, one bounded run each.
        func measure(region: Region, signing: PrincipalSigningKey, direct: InternalClient, edge: HTTPClient,
                     tenants measured: [TenantsFile.Tenant]) async throws -> [String: Any] {
            var targets: [Target] = []
            for tenant in measured {
                guard let id = TenantID(tenant.id), let slug = TenantSlug(rawValue: tenant.slug) else { throw ValidationError("bad tenant \(tenant.slug)") }
                let principal = Principal(tenantID: id, tenantSlug: slug, region: region, subject: "api_key:bench", kind: .apiClient,
                                          roles: ["admin"], scopes: ["tickets:read", "tickets:write"], authenticationMethod: .apiKey)
                targets.append(try await prepare(tenant, principal: principal, signing: signing, client: direct))
            }
            let ticketsURL = tickets
            let (domain, port) = (baseDomain, publicPort)
            let edgeURL: @Sendable (String) -> String = { slug in "https://\(slug).\(region).\(domain):\(port)" }
            var results: [[String: Any]] = []
            for operation in Operation.allCases {
                for path in ["direct", "gateway"] {
                    let tokens = try targets.map { try PrincipalToken.sign($0.principal, audience: .tickets, key: signing, lifetime: Double(seconds + 60)) }
                    let targets = targets
                    let result = try await Load.run(concurrency: concurrency, seconds: seconds) { _ in
                        let index = Int.random(in: 0..<targets.count)
                        let target = targets[index]
                        let (method, requestPath, body) = Self.request(operation, target)
                        let status: Int
                        if path == "direct" {
                            status = try await direct.send(method, url: ticketsURL + requestPath, principal: tokens[index], body: body).status
                        } else {
                            var request = HTTPClientRequest(url: edgeURL(target.tenant.slug) + requestPath)
                            request.method = method
                            request.headers.add(name: "Authorization", value: "Bearer \(target.tenant.apiKey ?? "")")
                            request.headers.add(name: "Accept", value: "application/json")
                            if let body {
                                request.headers.add(name: "Content-Type", value: "application/json")
                                request.body = .bytes(ByteBuffer(bytes: body))
                            }
                            let response = try await edge.execute(request, timeout: .seconds(30))
                            _ = try await response.body.collect(upTo: 4 << 20)
                            status = Int(response.status.code)
                        }
                        guard (200..<300).contains(status) else { throw ValidationError("\(operation.rawValue) \(path): HTTP \(status) during the run") }
                    }
                    results.append(["operation": operation.rawValue, "path": path, "requests": result.requests, "seconds": result.seconds,
                                    "per_second": result.perSecond, "p50_ms": result.milliseconds(0.5), "p99_ms": result.milliseconds(0.99)])
                }
            }
            return ["tenants": targets.count, "concurrency": concurrency, "seconds": seconds, "deep_after": deepAfter, "results": results]
        }

        /// The request of `operation` for one tenant: method, path and body.
        static func request(_ operation: Operation, _ target: Target) -> (HTTPMethod, String, Data?) {
            var corpus = TicketCorpus(tenant: Int.random(in: 0..<1_000_000))
            switch operation {
            case .listFirst: return (.GET, "/api/v1/tickets?limit=25", nil)
            case .listDeep: return (.GET, "/api/v1/tickets?limit=25&cursor=\(target.deepCursor)", nil)
            case .get: return (.GET, "/api/v1/tickets/\(target.ids.randomElement() ?? "")", nil)
            case .search: return (.GET, "/api/v1/search?q=\(corpus.words(1))&limit=25", nil)
            case .create:
                return (.POST, "/api/v1/tickets", Data(#"{"subject":"\#(corpus.words(4))","message":{"body":"\#(corpus.words(10))"}}"#.utf8))
            case .reply:
                return (.POST, "/api/v1/tickets/\(target.replyable.randomElement() ?? "")/messages", Data(#"{"body":"\#(corpus.words(6))","kind":"reply"}"#.utf8))
            }
        }

        /// Pages through a tenant's newest tickets up to the deep page, collecting ids on the way.
        func prepare(_ tenant: TenantsFile.Tenant, principal: Principal, signing: PrincipalSigningKey, client: InternalClient) async throws -> Target {
            let token = try PrincipalToken.sign(principal, audience: .tickets, key: signing)
            var ids: [String] = []
            var replyable: [String] = []
            var cursor: String?
            while ids.count < deepAfter {
                let reply = try await client.send(url: tickets + "/api/v1/tickets?limit=100" + (cursor.map { "&cursor=\($0)" } ?? ""), principal: token)
                guard reply.status == 200, let page = try JSONSerialization.jsonObject(with: reply.body) as? [String: Any],
                      let data = page["data"] as? [[String: Any]] else { throw ValidationError("listing \(tenant.slug): HTTP \(reply.status)") }
                for ticket in data {
                    guard let id = ticket["id"] as? String else { continue }
                    ids.append(id)
                    if ticket["status"] as? String != "closed" { replyable.append(id) }
                }
                guard let next = (page["links"] as? [String: Any])?["next"] as? String,
                      let value = URLComponents(string: next)?.queryItems?.first(where: { $0.name == "cursor" })?.value else {
                    throw ValidationError("\(tenant.slug) has fewer than \(deepAfter + 1) tickets")
                }
                cursor = value
            }
            guard let cursor, !replyable.isEmpty else { throw ValidationError("\(tenant.slug) has no open ticket") }
            return Target(tenant: tenant, principal: principal, deepCursor: cursor, ids: ids, replyable: replyable)
        }
    }
}

/// Writes a file only its owner may read (it may hold API keys).
enum SecretOutput {
    static func write(_ data: Data, to path: String) throws {
        FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: 0)
        try handle.write(contentsOf: data)
        try handle.close()
    }
}
