/// The admin console's sections. Each service renders its own (identity: security, tickets:
/// helpdesk settings, audit: the log), and every admin page shows this one list, so the console
/// reads as one product across services. The gateway routes the prefixes
/// (`/admin/security`, `/admin/helpdesk`, `/admin/audit`) to their services (`edge.yaml`).
public enum AdminSection: String, CaseIterable, Sendable {
    case users, policies, sso, apiKeys, oauthClients
    case departments, teams, customFields, redaction
    case auditLog, alerts, auditSettings

    public var label: String {
        switch self {
        case .users: "Users"
        case .policies: "Policies"
        case .sso: "Single sign-on"
        case .apiKeys: "API keys"
        case .oauthClients: "OAuth clients"
        case .departments: "Departments"
        case .teams: "Teams"
        case .customFields: "Custom fields"
        case .redaction: "Card redaction"
        case .auditLog: "Audit log"
        case .alerts: "Alerts"
        case .auditSettings: "Audit settings"
        }
    }

    public var path: String {
        switch self {
        case .users: "/admin/security/users"
        case .policies: "/admin/security/policies"
        case .sso: "/admin/security/sso"
        case .apiKeys: "/admin/security/api-keys"
        case .oauthClients: "/admin/security/oauth-clients"
        case .departments: "/admin/helpdesk/departments"
        case .teams: "/admin/helpdesk/teams"
        case .customFields: "/admin/helpdesk/custom-fields"
        case .redaction: "/admin/helpdesk/redaction"
        case .auditLog: "/admin/audit/log"
        case .alerts: "/admin/audit/alerts"
        case .auditSettings: "/admin/audit/settings"
        }
    }
}

extension PageHeader {
    /// The bar of every admin page, with `current` marked.
    public static func admin(tenant: String, who: String, current: AdminSection) -> PageHeader {
        PageHeader(home: AdminSection.users.path, tenant: tenant, navLabel: "Administration",
                   links: AdminSection.allCases.map { Link($0.label, $0.path, current: $0 == current) }, who: who)
    }
}

/// The agent console's sections: tickets renders both, audit renders the activity page under Me.
public enum AgentSection: CaseIterable, Sendable {
    case tickets, me

    public var label: String {
        switch self {
        case .tickets: "Tickets"
        case .me: "Me"
        }
    }

    public var path: String {
        switch self {
        case .tickets: "/agent/tickets"
        case .me: "/agent/me"
        }
    }
}

extension PageHeader {
    /// The bar of every agent-console page, with `current` marked.
    public static func agent(tenant: String, who: String, current: AgentSection) -> PageHeader {
        PageHeader(home: "/agent", tenant: tenant, navLabel: "Agent console",
                   links: AgentSection.allCases.map { Link($0.label, $0.path, current: $0 == current) }, who: who)
    }

    /// Who is signed in when the staff directory did not name them: their role and the first
    /// eight characters of their id (`Agent 1a2b3c4d`).
    public static func unnamedStaff(isAdmin: Bool, subject: String) -> String {
        let id = subject.lowercased()
        return "\(isAdmin ? "Admin" : "Agent") \((id.hasPrefix("user:") ? id.dropFirst(5) : Substring(id)).prefix(8))"
    }
}
