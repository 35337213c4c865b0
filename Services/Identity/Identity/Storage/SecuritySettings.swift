import Foundation
import Logging
import PostgresNIO
import RampartCore
import RampartStorage
import RampartTransport

/// A tenant's security settings: password policies for staff and customers, session timeouts,
/// and the roles that must use a second factor. A tenant without a stored row uses the defaults.
public struct SecuritySettings: Codable, Sendable, Equatable {
    public var staffPasswordPolicy: PasswordPolicy = .standards
    public var customerPasswordPolicy: PasswordPolicy = .standards
    public var sessionIdleMinutes: Int = 480
    public var sessionAbsoluteHours: Int = 24
    /// Roles whose sign-ins need TOTP (or SSO); a user of such a role without a factor must enroll first.
    public var totpRequiredRoles: [Role] = []

    public init() {}

    enum CodingKeys: String, CodingKey {
        case staffPasswordPolicy = "staff_password_policy"
        case customerPasswordPolicy = "customer_password_policy"
        case sessionIdleMinutes = "session_idle_minutes"
        case sessionAbsoluteHours = "session_absolute_hours"
        case totpRequiredRoles = "totp_required_roles"
    }

    /// Accepts a partial document: absent fields keep their defaults.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        staffPasswordPolicy = try container.decodeIfPresent(PasswordPolicy.self, forKey: .staffPasswordPolicy) ?? .standards
        customerPasswordPolicy = try container.decodeIfPresent(PasswordPolicy.self, forKey: .customerPasswordPolicy) ?? .standards
        sessionIdleMinutes = try container.decodeIfPresent(Int.self, forKey: .sessionIdleMinutes) ?? 480
        sessionAbsoluteHours = try container.decodeIfPresent(Int.self, forKey: .sessionAbsoluteHours) ?? 24
        totpRequiredRoles = try container.decodeIfPresent([Role].self, forKey: .totpRequiredRoles) ?? []
    }

    /// Whether a user of `role` must sign in with a second factor.
    public func requiresSecondFactor(_ role: Role) -> Bool { totpRequiredRoles.contains(role) }

    /// The problems that make these settings unusable, by field; empty when they can be saved.
    public func problems() -> [(field: String, message: String)] {
        var problems: [(String, String)] = []
        for message in staffPasswordPolicy.configurationProblems() { problems.append(("staff_password_policy", message)) }
        for message in customerPasswordPolicy.configurationProblems() { problems.append(("customer_password_policy", message)) }
        if !(5...10080).contains(sessionIdleMinutes) { problems.append(("session_idle_minutes", "Use 5 to 10080 minutes.")) }
        if !(1...720).contains(sessionAbsoluteHours) { problems.append(("session_absolute_hours", "Use 1 to 720 hours.")) }
        if sessionIdleMinutes > sessionAbsoluteHours * 60 { problems.append(("session_idle_minutes", "Cannot exceed the absolute session lifetime.")) }
        return problems
    }

    /// The settings' version for optimistic concurrency (the API's `ETag`): a digest of their
    /// canonical form, so the same settings always have the same version and a change of any
    /// setting gives another (the stored row has no counter).
    public var version: String { EntityTag.version(of: self) }

    /// Changes the settings of `tenant` in one transaction, serialized with every other change of
    /// them: `change` gets the stored settings and returns the ones to store, or throws (a
    /// version that no longer matches, say) to change nothing. Unusable results are refused
    /// field by field (422). Returns what was stored.
    public static func update(
        tenant: TenantID, region: Region, actor: AuditEvent.Actor, requestID: String?, on connection: PostgresConnection, logger: Logger,
        _ change: (SecuritySettings) throws -> SecuritySettings
    ) async throws -> SecuritySettings {
        try await TransactionLock.take("security_settings:\(tenant.rawValue)", on: connection, logger: logger)
        let before = try await load(tenant: tenant, on: connection, logger: logger)
        var settings = try change(before)
        // One order, each role once: the same roles are the same settings (and the same version).
        settings.totpRequiredRoles = Role.allCases.filter(settings.totpRequiredRoles.contains)
        let problems = settings.problems()
        guard problems.isEmpty else {
            throw ProblemError(status: .unprocessableContent, code: "invalid_input", title: "Invalid input",
                               fieldErrors: problems.map { .init(field: $0.field, message: $0.message) })
        }
        try await save(settings, replacing: before, tenant: tenant, region: region, actor: actor, requestID: requestID, on: connection, logger: logger)
        return settings
    }

    /// The settings of `tenant`, read inside its transaction.
    public static func load(tenant: TenantID, on connection: PostgresConnection, logger: Logger) async throws -> SecuritySettings {
        var settings = SecuritySettings()
        let rows = try await connection.query("""
            SELECT staff_password_policy::text, customer_password_policy::text, session_idle_minutes, session_absolute_hours, totp_required_roles
            FROM security_settings WHERE tenant_id = \(tenant.rawValue)
            """, logger: logger)
        for try await (staff, customer, idle, absolute, required) in rows.decode((String?, String?, Int, Int, [String]).self) {
            let decoder = JSONDecoder()
            if let staff, let policy = try? decoder.decode(PasswordPolicy.self, from: Data(staff.utf8)) { settings.staffPasswordPolicy = policy }
            if let customer, let policy = try? decoder.decode(PasswordPolicy.self, from: Data(customer.utf8)) { settings.customerPasswordPolicy = policy }
            settings.sessionIdleMinutes = idle
            settings.sessionAbsoluteHours = absolute
            settings.totpRequiredRoles = required.compactMap(Role.init(rawValue:))
        }
        return settings
    }

    /// Stores `settings` for `tenant` in place of `before` and records what changed as an audit event.
    private static func save(_ settings: SecuritySettings, replacing before: SecuritySettings, tenant: TenantID, region: Region,
                             actor: AuditEvent.Actor, requestID: String?, on connection: PostgresConnection, logger: Logger) async throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let staff = String(decoding: try encoder.encode(settings.staffPasswordPolicy), as: UTF8.self)
        let customer = String(decoding: try encoder.encode(settings.customerPasswordPolicy), as: UTF8.self)
        let roles = settings.totpRequiredRoles.map(\.rawValue)
        try await connection.query("""
            INSERT INTO security_settings (tenant_id, staff_password_policy, customer_password_policy, session_idle_minutes, session_absolute_hours, totp_required_roles)
            VALUES (\(tenant.rawValue), \(staff)::jsonb, \(customer)::jsonb, \(settings.sessionIdleMinutes), \(settings.sessionAbsoluteHours), \(roles))
            ON CONFLICT (tenant_id) DO UPDATE SET staff_password_policy = EXCLUDED.staff_password_policy,
                customer_password_policy = EXCLUDED.customer_password_policy, session_idle_minutes = EXCLUDED.session_idle_minutes,
                session_absolute_hours = EXCLUDED.session_absolute_hours, totp_required_roles = EXCLUDED.totp_required_roles
            """, logger: logger)
        var changes: [String: [String?]] = [:]
        func note(_ key: String, _ old: String, _ new: String) { if old != new { changes[key] = [old, new] } }
        note("staff_password_policy", String(decoding: try encoder.encode(before.staffPasswordPolicy), as: UTF8.self), staff)
        note("customer_password_policy", String(decoding: try encoder.encode(before.customerPasswordPolicy), as: UTF8.self), customer)
        note("session_idle_minutes", String(before.sessionIdleMinutes), String(settings.sessionIdleMinutes))
        note("session_absolute_hours", String(before.sessionAbsoluteHours), String(settings.sessionAbsoluteHours))
        note("totp_required_roles", before.totpRequiredRoles.map(\.rawValue).joined(separator: ","), roles.joined(separator: ","))
        try await AuditOutbox.append(AuditEvent(
            tenantID: tenant, region: region, actor: actor, action: "security_settings.updated",
            resource: .init(type: "security_settings", id: tenant.description), changes: changes, requestID: requestID, source: "api"
        ), on: connection, logger: logger)
    }
}
