import Foundation
import RampartCore

/// A person in a tenant: admin, agent or customer.
public struct User: Codable, Sendable, Equatable {
    /// Whether the user may sign in.
    public enum Status: String, Codable, Sendable {
        case invited
        case active
        case deactivated
    }

    public var id: UUID
    public var tenantID: TenantID
    public var email: EmailAddress
    public var name: String
    public var role: Role
    public var status: Status
    public var createdAt: Date

    enum CodingKeys: String, CodingKey {
        case id, email, name, role, status
        case tenantID = "tenant_id"
        case createdAt = "created_at"
    }
}

extension User {
    /// A user from its stored columns; `nil` if a stored value is not one this code knows.
    init?(id: UUID, tenantID: UUID, email: String, name: String, role: String, status: String, createdAt: Date) {
        guard let email = EmailAddress(rawValue: email), let role = Role(rawValue: role), let status = Status(rawValue: status) else { return nil }
        self.init(id: id, tenantID: TenantID(rawValue: tenantID), email: email, name: name, role: role, status: status, createdAt: createdAt)
    }
}

/// A staff user as colleagues see them in the helpdesk: no email address, nothing else.
public struct StaffMember: Codable, Sendable, Equatable {
    public var id: UUID
    public var name: String
    public var role: Role
    /// Whether they may sign in (not invited-only, not deactivated).
    public var active: Bool
}
