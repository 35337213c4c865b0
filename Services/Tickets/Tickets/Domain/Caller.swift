import Foundation
import RampartCore
import RampartSecurity

/// What the principal may do in the helpdesk, decided once per request from the roles and
/// scopes identity signed (tickets never asks identity, and never imports it).
///
/// - admins and API clients (API keys, OAuth clients) reach every ticket of the tenant, within
///   their scopes: `tickets:read` to read, `tickets:write` to change;
/// - agents reach tickets of departments they are members of and tickets assigned to them;
///   `read_only_agent`s hold only `tickets:read`;
/// - customers reach tickets they requested (and their organization's, where the tenant's
///   settings allow), see public replies only, and may create tickets and reply.
struct Caller: Sendable {
    /// Which tickets the caller can reach at all.
    enum Reach: Sendable, Equatable {
        case tenant
        case agent(UUID)
        case customer(user: UUID)
    }

    let principal: Principal
    let reach: Reach
    let canRead: Bool
    let canWrite: Bool
    /// Admins manage departments, teams, custom fields and settings.
    let isAdmin: Bool

    var tenant: TenantID { principal.tenantID }
    var isStaff: Bool { if case .customer = reach { false } else { true } }

    /// The caller for `principal`; a principal that can never use the helpdesk is refused (403).
    init(_ principal: Principal) throws {
        self.principal = principal
        let canRead = principal.has(scope: "tickets:read")
        let canWrite = principal.has(scope: "tickets:write")
        switch principal.kind {
        case .customer:
            guard let user = principal.userID, principal.roles.contains("customer") else {
                throw TicketsError.permissionDenied("This principal cannot use the helpdesk.")
            }
            reach = .customer(user: user)
            self.canRead = true
            self.canWrite = true
            isAdmin = false
        case .agent:
            guard let user = principal.userID, canRead else {
                throw TicketsError.permissionDenied("The helpdesk needs the tickets:read scope.")
            }
            reach = .agent(user)
            self.canRead = canRead
            self.canWrite = canWrite && principal.roles.contains("agent")
            isAdmin = false
        case .admin, .apiClient:
            guard canRead, !principal.roles.contains("customer") else {
                throw TicketsError.permissionDenied("The helpdesk needs the tickets:read scope.")
            }
            reach = .tenant
            self.canRead = canRead
            self.canWrite = canWrite
            isAdmin = canWrite && principal.roles.contains("admin")
        case .operator:
            throw TicketsError.permissionDenied("Operators do not read tenants' tickets.")
        }
    }

    /// Refuses callers that may only read.
    func requireWrite() throws {
        guard canWrite else { throw TicketsError.permissionDenied("Changing tickets needs the tickets:write scope.") }
    }

    /// Refuses callers that are not staff (customers).
    func requireStaff() throws {
        guard isStaff else { throw TicketsError.permissionDenied("Only staff may do this.") }
    }

    /// Refuses callers that are not tenant admins with write access.
    func requireAdmin() throws {
        guard isAdmin else { throw TicketsError.permissionDenied("Only the tenant's admins may change this.") }
    }

    /// The agent's own user id, when the caller is an agent.
    var agentID: UUID? { if case .agent(let id) = reach { id } else { nil } }

    /// Who acted, as audit events record it.
    var actor: AuditEvent.Actor {
        let type = principal.kind == .apiClient ? (principal.subject.hasPrefix("oauth_client:") ? "oauth_client" : "api_key") : principal.kind.rawValue
        return AuditEvent.Actor(type: type, id: principal.subject, sessionID: principal.sessionID, authenticationMethod: principal.authenticationMethod.rawValue)
    }
}
