import Foundation
import Logging
import Synchronization
import PostgresNIO
import RampartCore
import RampartSecurity
import RampartStorage

/// The region's tenant registry.
public struct TenantRepository: Sendable {
    public let database: Database
    public let region: Region
    /// The region's tenant keys; a tenant's data key is created with it.
    let keyring: TenantKeyring?
    let recent: TenantLookupCache
    /// How long a cancelled tenant's data is kept, reinstatable, before it is purged.
    let gracePeriod: Duration

    /// The grace period unless configured otherwise (`RAMPART_TENANT_GRACE_DAYS`).
    public static let defaultGracePeriod = Duration.seconds(60 * 86_400)

    public init(database: Database, region: Region, keyring: TenantKeyring? = nil, cacheLifetime: Duration = .seconds(5),
                gracePeriod: Duration = TenantRepository.defaultGracePeriod) {
        self.database = database
        self.region = region
        self.keyring = keyring
        self.gracePeriod = gracePeriod
        recent = TenantLookupCache(lifetime: cacheLifetime)
    }

    /// Creates a tenant in this region; the slug must be free in this region.
    ///
    /// The tenant's data key is created first: audit accepts events only for tenants with a live
    /// key (docs/audit.md), and an unused key of a tenant whose insert failed harms nothing.
    public func create(slug: TenantSlug, displayName: String, plan: Tenant.Plan, actor: AuditEvent.Actor, requestID: String?) async throws -> Tenant {
        let name = displayName.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...200).contains(name.count) else { throw IdentityError.invalidName }
        let tenant = Tenant(id: .random(), slug: slug, displayName: name, region: region, plan: plan, status: .active, createdAt: .now)
        let region = self.region
        try await keyring?.provision(tenant.id)
        do {
            try await database.withTenant(tenant.id) { connection in
                try await connection.query("""
                    INSERT INTO tenants (id, slug, display_name, region, plan, created_at)
                    VALUES (\(tenant.id.rawValue), \(slug.rawValue), \(name), \(region.rawValue), \(plan.rawValue), \(tenant.createdAt))
                    """, logger: database.logger)
                try await AuditOutbox.append(AuditEvent(
                    tenantID: tenant.id, region: region, actor: actor, action: "tenant.created",
                    resource: .init(type: "tenant", id: tenant.id.description, label: slug.rawValue),
                    changes: ["plan": [nil, plan.rawValue]], requestID: requestID, source: "system"
                ), on: connection, logger: database.logger)
            }
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            throw IdentityError.slugTaken
        }
        return tenant
    }

    /// The tenant with `slug` in this region, or `nil`.
    public func find(slug: TenantSlug) async throws -> Tenant? {
        try await select("WHERE slug = $1", binds: slug.rawValue).first
    }

    /// The tenant for `slug` as principal resolution needs it on every request: remembered for a
    /// few seconds, forgotten at once when this process changes its status. Other identity
    /// replicas see a suspension within `cacheLifetime`.
    public func findForResolution(slug: TenantSlug) async throws -> Tenant? {
        if let cached = recent.tenant(slug.rawValue) { return cached }
        guard let tenant = try await find(slug: slug) else { return nil }
        recent.remember(tenant)
        return tenant
    }

    /// The tenant with `id` in this region, or `nil`.
    public func find(id: TenantID) async throws -> Tenant? {
        try await select("WHERE id = $1::uuid", binds: id.description).first
    }

    /// Every tenant of the region, oldest first.
    public func list() async throws -> [Tenant] {
        try await select("", binds: nil)
    }


    /// Moves a tenant to `status` along the allowed transitions and records it.
    public func setStatus(slug: TenantSlug, to status: Tenant.Status, actor: AuditEvent.Actor, requestID: String?) async throws -> Tenant {
        guard var tenant = try await find(slug: slug) else { throw IdentityError.tenantNotFound }
        let allowed: Set<String> = ["active>suspended", "suspended>active", "active>cancelled", "suspended>cancelled", "cancelled>active"]
        guard allowed.contains("\(tenant.status.rawValue)>\(status.rawValue)") else {
            throw IdentityError.invalidTransition(from: tenant.status.rawValue, to: status.rawValue)
        }
        let previous = tenant.status
        let region = self.region
        let action = switch status {
        case .suspended: "tenant.suspended"
        case .active: "tenant.reinstated"
        case .cancelled: "tenant.cancelled"
        }
        // Cancelling starts the grace period; any other status has none.
        let purgeAfter: Date? = status == .cancelled ? Date.now.addingTimeInterval(Double(gracePeriod.components.seconds)) : nil
        try await database.withTenant(tenant.id) { [tenant] connection in
            let moved = try await connection.query("""
                UPDATE tenants SET status = \(status.rawValue), status_changed_at = now(), purge_after = \(purgeAfter)
                WHERE id = \(tenant.id.rawValue) AND status = \(previous.rawValue) AND purge_started_at IS NULL RETURNING 1
                """, logger: database.logger)
            guard try await moved.any() else {
                // Another transition (or the purge's start) committed since the status was read: this one did not happen.
                let now = try await connection.query("""
                    SELECT status, purge_started_at IS NOT NULL FROM tenants WHERE id = \(tenant.id.rawValue)
                    """, logger: database.logger)
                var (current, purging) = (previous.rawValue, false)
                for try await row in now.decode((String, Bool).self) { (current, purging) = row }
                if purging { throw IdentityError.purgeStarted }
                throw IdentityError.invalidTransition(from: current, to: status.rawValue)
            }
            try await AuditOutbox.append(AuditEvent(
                tenantID: tenant.id, region: region, actor: actor, action: action,
                resource: .init(type: "tenant", id: tenant.id.description, label: tenant.slug.rawValue),
                changes: ["status": [previous.rawValue, status.rawValue], "purge_after": [tenant.purgeAfter?.ISO8601Format(), purgeAfter?.ISO8601Format()]],
                requestID: requestID, source: "system"
            ), on: connection, logger: database.logger)
        }
        tenant.status = status
        tenant.purgeAfter = purgeAfter
        recent.forget(tenant.slug.rawValue)
        return tenant
    }

    /// Records that backup begins deleting the cancelled tenant `id`'s data (again, for a purge
    /// that resumes): from then on ``setStatus(slug:to:actor:requestID:)`` refuses to reinstate
    /// it. Refused (`invalidTransition`) unless the tenant is cancelled, so of a reinstatement and
    /// a purge's start that meet, exactly one happens.
    public func startPurge(id: TenantID) async throws {
        let started = try await database.withTenant(id) { connection in
            try await connection.query("""
                UPDATE tenants SET purge_started_at = COALESCE(purge_started_at, now()) WHERE id = \(id.rawValue) AND status = 'cancelled' RETURNING 1
                """, logger: database.logger).any()
        }
        guard !started else { return }
        guard let tenant = try await find(id: id) else { throw IdentityError.tenantNotFound }
        throw IdentityError.invalidTransition(from: tenant.status.rawValue, to: "purged")
    }

    private func select(_ filter: String, binds value: String?) async throws -> [Tenant] {
        var bindings = PostgresBindings()
        if let value { bindings.append(value) }
        let query = PostgresQuery(
            unsafeSQL: "SELECT id, slug, display_name, region, plan, status, created_at, purge_after FROM tenants \(filter) ORDER BY created_at, slug",
            binds: bindings
        )
        var tenants: [Tenant] = []
        let rows = try await database.client.query(query, logger: database.logger)
        for try await (id, slug, name, region, plan, status, created, purgeAfter) in rows.decode((UUID, String, String, String, String, String, Date, Date?).self) {
            guard let slug = TenantSlug(rawValue: slug), let region = Region(rawValue: region),
                  let plan = Tenant.Plan(rawValue: plan), let status = Tenant.Status(rawValue: status)
            else { continue }
            tenants.append(Tenant(id: TenantID(rawValue: id), slug: slug, displayName: name, region: region, plan: plan, status: status,
                                  createdAt: created, purgeAfter: purgeAfter))
        }
        return tenants
    }
}

/// Tenants looked up recently, by slug, each for a short lifetime; bounded in size.
final class TenantLookupCache: Sendable {
    private let entries = Mutex<[String: (tenant: Tenant, until: ContinuousClock.Instant)]>([:])
    private let lifetime: Duration
    private static let capacity = 10_000

    init(lifetime: Duration) {
        self.lifetime = lifetime
    }

    func tenant(_ slug: String) -> Tenant? {
        entries.withLock { entries in
            guard let entry = entries[slug], entry.until > .now else { return nil }
            return entry.tenant
        }
    }

    func remember(_ tenant: Tenant) {
        guard lifetime > .zero else { return }
        entries.withLock { entries in
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[tenant.slug.rawValue] = (tenant, .now + lifetime)
        }
    }

    func forget(_ slug: String) {
        _ = entries.withLock { $0.removeValue(forKey: slug) }
    }
}
