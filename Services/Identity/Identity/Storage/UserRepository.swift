import Foundation
import Logging
import PostgresNIO
import RampartCore
import RampartStorage

/// Users of one region's tenants; every query runs inside the tenant's transaction.
public struct UserRepository: Sendable {
    public let database: Database
    public let region: Region
    public let hasher: PasswordHasher

    public init(database: Database, region: Region, hasher: PasswordHasher) {
        self.database = database
        self.region = region
        self.hasher = hasher
    }

    /// Creates an active user with a password that satisfies the tenant's policy for the role's
    /// audience (staff or customers); nothing is stored otherwise. Without a password, one that
    /// satisfies the policy is generated and returned (to be shown once).
    public func create(
        tenant: Tenant, email rawEmail: String, name rawName: String, role: Role, password: String?,
        actor: AuditEvent.Actor, requestID: String?
    ) async throws -> (user: User, generatedPassword: String?) {
        guard let email = EmailAddress(rawValue: rawEmail) else { throw IdentityError.invalidEmail }
        let name = rawName.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...200).contains(name.count) else { throw IdentityError.invalidName }
        let settings = try await database.withTenant(tenant.id) { connection in
            try await SecuritySettings.load(tenant: tenant.id, on: connection, logger: database.logger)
        }
        let policy = role.isStaff ? settings.staffPasswordPolicy : settings.customerPasswordPolicy
        let generated = password == nil ? GeneratedPassword.make(for: policy) : nil
        guard let password = password ?? generated else { throw IdentityError.invalidName }
        let violations = policy.violations(of: password, for: .init(email: email.rawValue, name: name))
        guard violations.isEmpty else { throw IdentityError.weakPassword(violations) }
        let hash = try await hasher.hash(password)
        let user = User(id: UUID(), tenantID: tenant.id, email: email, name: name, role: role, status: .active, createdAt: .now)
        let region = self.region
        do {
            try await database.withTenant(tenant.id) { connection in
                try await connection.query("""
                    INSERT INTO users (id, tenant_id, email, name, role, status, password_hash, password_changed_at, created_at)
                    VALUES (\(user.id), \(tenant.id.rawValue), \(email.rawValue), \(name), \(role.rawValue), 'active', \(hash), now(), \(user.createdAt))
                    """, logger: database.logger)
                try await AuditOutbox.append(AuditEvent(
                    tenantID: tenant.id, region: region, actor: actor, action: "user.created",
                    resource: .init(type: "user", id: user.id.uuidString.lowercased(), label: email.rawValue),
                    changes: ["role": [nil, role.rawValue]], requestID: requestID, source: actor.type == "operator" ? "system" : "api"
                ), on: connection, logger: database.logger)
            }
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            throw IdentityError.emailTaken
        }
        return (user, generated)
    }

    /// The user with `id` in `tenant`, or `nil` (also for another tenant's user).
    public func find(id: UUID, tenant: TenantID) async throws -> User? {
        try await database.withTenant(tenant) { connection in
            try await Self.users(connection.query("""
                SELECT id, tenant_id, email, name, role, status, created_at FROM users WHERE id = \(id)
                """, logger: database.logger)).first
        }
    }

    /// The user with `email` in `tenant`, or `nil`.
    public func find(email: EmailAddress, tenant: TenantID) async throws -> User? {
        try await database.withTenant(tenant) { connection in
            try await Self.users(connection.query("""
                SELECT id, tenant_id, email, name, role, status, created_at FROM users WHERE email = \(email.rawValue)
                """, logger: database.logger)).first
        }
    }

    /// Deactivates a user and, in the same transaction, revokes every session, API key and token they hold.
    public func deactivate(id: UUID, tenant: TenantID, actor: AuditEvent.Actor, requestID: String?) async throws {
        try await database.withTenant(tenant) { connection in
            guard try await Self.deactivate(id: id, tenant: tenant, region: region, actor: actor, requestID: requestID, source: "api",
                                            on: connection, logger: database.logger)
            else { throw IdentityError.userNotFound }
        }
    }

    /// Deactivates a user inside the caller's transaction (an admin, or a federated sign-in whose
    /// groups no longer map to a role); `false` when there is no active-or-invited user `id`.
    static func deactivate(
        id: UUID, tenant: TenantID, region: Region, actor: AuditEvent.Actor, requestID: String?, source: String,
        on connection: PostgresConnection, logger: Logger
    ) async throws -> Bool {
        let changed = try await connection.query("""
            UPDATE users SET status = 'deactivated' WHERE id = \(id) AND status <> 'deactivated' RETURNING email
            """, logger: logger)
        var email: String?
        for try await value in changed.decode(String.self) { email = value }
        guard let email else { return false }
        try await connection.query("""
            UPDATE api_keys SET revoked_at = now() WHERE user_id = \(id) AND revoked_at IS NULL
            """, logger: logger)
        try await connection.query("""
            UPDATE sessions SET revoked_at = now() WHERE user_id = \(id) AND revoked_at IS NULL
            """, logger: logger)
        try await TokenRepository.revokeAll(user: id, on: connection, logger: logger)
        try await AuditOutbox.append(AuditEvent(
            tenantID: tenant, region: region, actor: actor, action: "user.deactivated",
            resource: .init(type: "user", id: id.uuidString.lowercased(), label: email),
            changes: ["status": ["active", "deactivated"]], requestID: requestID, source: source
        ), on: connection, logger: logger)
        return true
    }

    /// Changes a user's role. Their sessions and tokens end (they sign in again under the new
    /// role); API keys stay but never carry more than the new role grants.
    public func changeRole(id: UUID, to role: Role, tenant: TenantID, actor: AuditEvent.Actor, requestID: String?) async throws {
        try await database.withTenant(tenant) { connection in
            try await Self.changeRole(id: id, to: role, tenant: tenant, region: region, actor: actor, requestID: requestID, source: "api",
                                      on: connection, logger: database.logger)
        }
    }

    /// Changes a user's role inside the caller's transaction, ending their sessions and tokens and
    /// recording `user.role_changed` when it differs (an admin's change, or a federated sign-in
    /// following the IdP's groups).
    static func changeRole(
        id: UUID, to role: Role, tenant: TenantID, region: Region, actor: AuditEvent.Actor, requestID: String?, source: String,
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        // The role before, read with the row locked: of two changes at once, the second sees the
        // first's role, so neither goes unrecorded nor keeps sessions of the role it replaced.
        let rows = try await connection.query("""
            SELECT email, role FROM users WHERE id = \(id) AND status <> 'deactivated' FOR NO KEY UPDATE
            """, logger: logger)
        var found: (String, String)?
        for try await row in rows.decode((String, String).self) { found = row }
        guard let (email, previous) = found else { throw IdentityError.userNotFound }
        guard previous != role.rawValue else { return }
        try await connection.query("UPDATE users SET role = \(role.rawValue) WHERE id = \(id)", logger: logger)
        try await connection.query("UPDATE sessions SET revoked_at = now() WHERE user_id = \(id) AND revoked_at IS NULL", logger: logger)
        try await TokenRepository.revokeAll(user: id, on: connection, logger: logger)
        try await AuditOutbox.append(AuditEvent(
            tenantID: tenant, region: region, actor: actor, action: "user.role_changed",
            resource: .init(type: "user", id: id.uuidString.lowercased(), label: email),
            changes: ["role": [previous, role.rawValue]], requestID: requestID, source: source
        ), on: connection, logger: logger)
    }

    /// Lets a deactivated user sign in again; their old sessions and keys stay revoked.
    public func reactivate(id: UUID, tenant: TenantID, actor: AuditEvent.Actor, requestID: String?) async throws {
        let region = self.region
        try await database.withTenant(tenant) { connection in
            let changed = try await connection.query("""
                UPDATE users SET status = 'active' WHERE id = \(id) AND status = 'deactivated' RETURNING email
                """, logger: database.logger)
            var email: String?
            for try await value in changed.decode(String.self) { email = value }
            guard let email else { throw IdentityError.userNotFound }
            try await AuditOutbox.append(AuditEvent(
                tenantID: tenant, region: region, actor: actor, action: "user.reactivated",
                resource: .init(type: "user", id: id.uuidString.lowercased(), label: email),
                changes: ["status": ["deactivated", "active"]], requestID: requestID, source: "api"
            ), on: connection, logger: database.logger)
        }
    }

    /// A tenant's users, by email, at most `limit` after `afterEmail` (cursor pagination);
    /// with `filter`, only those whose email or name contains its text (any case; `%` and `_`
    /// are plain characters) and who hold its role.
    public func list(tenant: TenantID, afterEmail: String?, limit: Int, filter: UserFilter = UserFilter()) async throws -> [User] {
        try await database.withTenant(tenant) { connection in
            try await Self.users(connection.query("""
                SELECT id, tenant_id, email, name, role, status, created_at FROM users
                WHERE email > \(afterEmail ?? "")
                  AND (\(filter.pattern)::text IS NULL OR email ILIKE \(filter.pattern) OR name ILIKE \(filter.pattern))
                  AND (\(filter.role?.rawValue)::text IS NULL OR role = \(filter.role?.rawValue))
                ORDER BY email LIMIT \(limit)
                """, logger: database.logger))
        }
    }

    /// A tenant's staff (admins, agents, read-only agents) by id, at most `limit` after
    /// `afterID`: what a colleague sees of them, for tickets' staff directory. Never customers.
    public func staff(tenant: TenantID, afterID: UUID?, limit: Int) async throws -> [StaffMember] {
        let roles = Role.allCases.filter(\.isStaff).map(\.rawValue)
        let after = afterID ?? UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
        return try await database.withTenant(tenant) { connection in
            var members: [StaffMember] = []
            let rows = try await connection.query("""
                SELECT id, name, role, status FROM users
                WHERE role = ANY(\(roles)) AND id > \(after) ORDER BY id LIMIT \(limit)
                """, logger: database.logger)
            for try await (id, name, role, status) in rows.decode((UUID, String, String, String).self) {
                guard let role = Role(rawValue: role), role.isStaff else { continue }
                members.append(StaffMember(id: id, name: name, role: role, active: status == User.Status.active.rawValue))
            }
            return members
        }
    }

    static func users(_ rows: PostgresRowSequence) async throws -> [User] {
        var users: [User] = []
        for try await (id, tenant, email, name, role, status, created) in rows.decode((UUID, UUID, String, String, String, String, Date).self) {
            if let user = User(id: id, tenantID: tenant, email: email, name: name, role: role, status: status, createdAt: created) { users.append(user) }
        }
        return users
    }
}
