import RampartSecurity

/// A user's role in a tenant; other services read the permissions it grants from the principal.
public enum Role: String, Codable, Sendable, CaseIterable {
    case admin
    case agent
    case readOnlyAgent = "read_only_agent"
    case customer

    /// The permissions the role grants.
    public var permissions: [Permission] {
        switch self {
        case .admin: [.ticketsRead, .ticketsWrite, .adminUsers, .adminSecurity, .auditRead]
        case .agent: [.ticketsRead, .ticketsWrite]
        case .readOnlyAgent: [.ticketsRead]
        case .customer: [.portal]
        }
    }

    /// Whether the role is staff (admins and agents) rather than a customer.
    public var isStaff: Bool { self != .customer }

    /// The kind of principal a user of this role becomes.
    public var principalKind: Principal.Kind {
        switch self {
        case .admin: .admin
        case .agent, .readOnlyAgent: .agent
        case .customer: .customer
        }
    }

    /// The actor type audit events record for a user of this role.
    public var actorType: String {
        switch self {
        case .admin: "admin"
        case .agent, .readOnlyAgent: "agent"
        case .customer: "customer"
        }
    }
}

/// A permission, as services check it.
public enum Permission: String, Codable, Sendable, CaseIterable {
    case ticketsRead = "tickets.read"
    case ticketsWrite = "tickets.write"
    case adminUsers = "admin.users"
    case adminSecurity = "admin.security"
    case auditRead = "audit.read"
    /// A customer's own tickets in the portal.
    case portal = "portal"

    /// The API scope that carries this permission to an API key or token, if any.
    public var scope: String? {
        switch self {
        case .ticketsRead: "tickets:read"
        case .ticketsWrite: "tickets:write"
        case .adminUsers: "users:write"
        case .adminSecurity: "security:write"
        case .auditRead: "audit:read"
        case .portal: nil
        }
    }

    /// Every scope an API key may be given.
    public static let scopes: Set<String> = Set(allCases.compactMap(\.scope))
}
