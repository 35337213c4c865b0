import Foundation

/// What one service deleted of a purged tenant: rows per table. Backup collects one from every
/// service into the tenant's deletion certificate.
public struct TenantDataDeletion: Codable, Sendable, Equatable {
    public var service: String
    public var deleted: [String: Int]

    public init(service: String, deleted: [String: Int]) {
        self.service = service
        self.deleted = deleted
    }
}
