import Foundation
import Logging
import Metrics
import NIOCore
import RampartCore
import RampartSecurity
import ServiceLifecycle

/// The names of a tenant's staff, for pages that know agents and admins by user id only (tickets'
/// agent console, audit's log viewer); identity owns their names. Asked of identity's staff
/// directory (`GET /internal/v1/staff-directory/{tenant}`, mutual TLS, the allow-list's
/// tickets → identity and audit → identity rules) and kept per tenant for ``Settings/freshFor``,
/// so most pages cost no round trip; one ask per tenant at a time, however many pages wait for it.
///
/// Names are a convenience, never a reason for an error page: when identity is not configured,
/// unreachable, slow (``Settings/deadline``) or answers anything else, the tenant's last names are
/// kept (none at first: pages show short ids) and identity is asked again after
/// ``Settings/retryAfter``. Runs as a service only to close its connection pool at shutdown.
public actor StaffDirectory: Service {
    /// A staff user as identity lists them (never a customer, never an email address); the
    /// pages need the name and whether they may still sign in (assignee choices).
    public struct Member: Decodable, Sendable, Equatable {
        public let id: UUID
        public let name: String
        /// `admin`, `agent` or `read_only_agent`.
        public let role: String
        public let active: Bool
    }

    /// How long names are kept and how much is held.
    public struct Settings: Sendable {
        /// How long a tenant's names are used before identity is asked again.
        public var freshFor: Duration = .seconds(60)
        /// After a failed ask, how long pages go on with the names they had before asking again.
        public var retryAfter: Duration = .seconds(15)
        /// Tenants held at once; the one due for refresh soonest makes room.
        public var tenantCapacity = 1_000
        /// Staff read per tenant (pages of ``pageSize``); anyone beyond shows as a short id.
        public var memberCapacity = 5_000
        public var pageSize = 500
        /// Bound on each ask, so a page waits at most this long for names.
        public var deadline: TimeAmount = .seconds(2)

        public init() {}
    }

    private struct Identity: Sendable {
        let baseURL: String
        let tls: InternalTLS
    }

    private struct Page: Decodable {
        let data: [Member]
        let next: UUID?
    }

    private struct Entry {
        var members: [UUID: Member]
        var refreshAt: ContinuousClock.Instant
    }

    private let identity: Identity?
    private let settings: Settings
    private let logger: Logger
    /// Created on the first ask, closed at shutdown.
    private var client: InternalClient?
    private var closed = false
    private var entries: [TenantID: Entry] = [:]
    private var asking: [TenantID: Task<Void, Never>] = [:]

    /// Names from the identity service at `identityURL`, called with `tls` (the calling service's
    /// certificate).
    public init(identityURL: String, tls: InternalTLS, logger: Logger, settings: Settings = Settings()) {
        identity = Identity(baseURL: identityURL, tls: tls)
        self.settings = settings
        var logger = logger
        logger[metadataKey: "component"] = "staff.directory"
        self.logger = logger
    }

    /// No identity to ask: every page shows short ids.
    public init() {
        identity = nil
        settings = Settings()
        logger = Logger(label: "rampart.staff-directory")
    }

    /// The directory `runtime`'s configuration describes (`RAMPART_IDENTITY_URL`); without that
    /// key, a warning is logged and pages show short ids.
    public static func make(for runtime: ServiceRuntime) -> StaffDirectory {
        guard let url = runtime.config.identityURL else {
            runtime.logger.warning("staff.directory.disabled", metadata: ["reason": "RAMPART_IDENTITY_URL not set; pages show staff by short id"])
            return StaffDirectory()
        }
        return StaffDirectory(identityURL: url, tls: runtime.tls, logger: runtime.logger)
    }

    /// The tenant's staff by user id: fresh, kept from before, or empty. Never throws.
    public func members(of tenant: TenantID) async -> [UUID: Member] {
        guard let identity, !closed else { return [:] }
        if let entry = entries[tenant], entry.refreshAt > .now { return entry.members }
        let ask: Task<Void, Never>
        if let running = asking[tenant] {
            ask = running
        } else {
            let client = client ?? InternalClient(tls: identity.tls, timeout: .init(connect: settings.deadline, read: settings.deadline))
            self.client = client
            let settings = settings, logger = logger
            ask = Task {
                let fetched = await Self.fetch(tenant, from: identity.baseURL, client: client, settings: settings, logger: logger)
                self.store(fetched, for: tenant)
            }
            asking[tenant] = ask
        }
        await ask.value
        return entries[tenant]?.members ?? [:]
    }

    /// Keeps an answer (or, for a failed ask, the names from before) until it is due again.
    private func store(_ fetched: [UUID: Member]?, for tenant: TenantID) {
        asking[tenant] = nil
        let now = ContinuousClock.now
        if entries[tenant] == nil, entries.count >= settings.tenantCapacity,
           let due = entries.min(by: { $0.value.refreshAt < $1.value.refreshAt })?.key {
            entries[due] = nil
        }
        entries[tenant] = Entry(members: fetched ?? entries[tenant]?.members ?? [:],
                                refreshAt: now + (fetched == nil ? settings.retryAfter : settings.freshFor))
    }

    /// Every page of the tenant's directory (up to ``Settings/memberCapacity``), or `nil` when
    /// identity did not answer with one.
    private static func fetch(_ tenant: TenantID, from baseURL: String, client: InternalClient, settings: Settings, logger: Logger) async -> [UUID: Member]? {
        var members: [UUID: Member] = [:]
        var after: UUID?
        do {
            repeat {
                var url = "\(baseURL)/internal/v1/staff-directory/\(tenant)?limit=\(settings.pageSize)"
                if let after { url += "&after=\(after.uuidString.lowercased())" }
                let reply = try await client.send(.GET, url: url, maximumBodyBytes: 1024 * 1024, deadline: settings.deadline)
                guard reply.status == 200 else {
                    logger.warning("staff.directory.refused", metadata: ["tenant.id": "\(tenant)", "http.status": "\(reply.status)"])
                    Counter(label: "rampart_staff_directory_failures_total").increment()
                    return nil
                }
                let page = try JSONDecoder().decode(Page.self, from: reply.body)
                for member in page.data { members[member.id] = member }
                after = page.next
            } while after != nil && members.count < settings.memberCapacity
            return members
        } catch {
            logger.warning("staff.directory.unavailable", metadata: ["tenant.id": "\(tenant)", "error.type": "\(type(of: error))"])
            Counter(label: "rampart_staff_directory_failures_total").increment()
            return nil
        }
    }

    /// Waits for shutdown, then closes the connection pool; later asks answer without names.
    public func run() async throws {
        try? await gracefulShutdown()
        closed = true
        try? await client?.shutdown()
        client = nil
    }
}

/// A tenant's staff as one page knows them (``StaffDirectory/names(of:)``): names for user ids
/// and actor ids; `nil` for anyone identity did not name (each page chooses what to show then).
public struct StaffNames: Sendable {
    public let members: [UUID: StaffDirectory.Member]

    /// Nobody named.
    public static let none = StaffNames(members: [:])

    public init(members: [UUID: StaffDirectory.Member]) {
        self.members = members
    }

    /// The staff user `id`'s name.
    public func name(_ id: UUID) -> String? {
        members[id]?.name
    }

    /// The name of the staff user an actor id stands for: `user:{id}` (a principal's subject) or
    /// a bare user id; `nil` for anyone else (API keys, clients, customers, operators, services,
    /// people no longer staff).
    public func name(ofActor id: String) -> String? {
        (Principal.userID(subject: id) ?? UUID(uuidString: id)).flatMap(name)
    }

    /// Whether identity still lets the user sign in; `true` when it did not say.
    public func isActive(_ id: UUID) -> Bool {
        members[id]?.active ?? true
    }
}

extension StaffDirectory {
    /// The names of `tenant`'s staff as ``members(of:)`` has them.
    public func names(of tenant: TenantID) async -> StaffNames {
        StaffNames(members: await members(of: tenant))
    }
}
