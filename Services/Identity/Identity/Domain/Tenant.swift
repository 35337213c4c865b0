import Foundation
import RampartCore

/// A tenant as the region's registry holds it.
public struct Tenant: Codable, Sendable, Equatable {
    /// Where a tenant is in its life.
    public enum Status: String, Codable, Sendable {
        case active
        case suspended
        case cancelled
    }

    /// What a tenant pays for.
    public enum Plan: String, Codable, Sendable, CaseIterable {
        case starter, team, business, enterprise
    }

    public var id: TenantID
    public var slug: TenantSlug
    public var displayName: String
    public var region: Region
    public var plan: Plan
    public var status: Status
    public var createdAt: Date
    /// A cancelled tenant's data is kept until this moment, then purged (`rampart-backup`).
    public var purgeAfter: Date?

    enum CodingKeys: String, CodingKey {
        case id, slug, region, plan, status
        case displayName = "display_name"
        case createdAt = "created_at"
        case purgeAfter = "purge_after"
    }
}
