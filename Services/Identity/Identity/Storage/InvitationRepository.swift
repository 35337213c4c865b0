import Crypto
import Foundation
import Logging
import PostgresNIO
import RampartCore
import RampartStorage

/// Invitations: an admin creates a user without a password and gets a single-use link (valid
/// seven days) to hand over; the invitee sets a password that meets the tenant's policy and
/// is signed in. A new invitation replaces the previous one.
public struct InvitationRepository: Sendable {
    public let database: Database
    public let region: Region
    let hashKey: SymmetricKey
    let hasher: PasswordHasher

    public static let lifetime: TimeInterval = 7 * 86400

    public init(database: Database, region: Region, hashKey: SymmetricKey, hasher: PasswordHasher) {
        self.database = database
        self.region = region
        self.hashKey = hashKey
        self.hasher = hasher
    }

    /// Creates an invited user (no password yet) and their invitation; returns the token.
    public func invite(tenant: Tenant, email rawEmail: String, name rawName: String, role: Role, actor: AuditEvent.Actor, requestID: String?) async throws -> (User, String) {
        guard let email = EmailAddress(rawValue: rawEmail) else { throw IdentityError.invalidEmail }
        let name = rawName.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...200).contains(name.count) else { throw IdentityError.invalidName }
        let user = User(id: UUID(), tenantID: tenant.id, email: email, name: name, role: role, status: .invited, createdAt: .now)
        let token = SecretCredential.generate(.invitation)
        let region = self.region
        let hashKey = self.hashKey
        do {
            try await database.withTenant(tenant.id) { connection in
                try await connection.query("""
                    INSERT INTO users (id, tenant_id, email, name, role, status, created_at)
                    VALUES (\(user.id), \(tenant.id.rawValue), \(email.rawValue), \(name), \(role.rawValue), 'invited', \(user.createdAt))
                    """, logger: database.logger)
                try await Self.insert(token, user: user, hashKey: hashKey, on: connection, logger: database.logger)
                try await AuditOutbox.append(AuditEvent(
                    tenantID: tenant.id, region: region, actor: actor, action: "user.invited",
                    resource: .init(type: "user", id: user.id.uuidString.lowercased(), label: email.rawValue),
                    changes: ["role": [nil, role.rawValue]], requestID: requestID, source: "api"
                ), on: connection, logger: database.logger)
            }
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            throw IdentityError.emailTaken
        }
        return (user, token.presented)
    }

    /// A fresh invitation for a user still invited; earlier links stop working.
    public func reissue(userID: UUID, tenant: TenantID, actor: AuditEvent.Actor, requestID: String?) async throws -> String {
        let token = SecretCredential.generate(.invitation)
        let region = self.region
        let hashKey = self.hashKey
        try await database.withTenant(tenant) { connection in
            let rows = try await connection.query("""
                SELECT id, tenant_id, email, name, role, status, created_at FROM users WHERE id = \(userID) AND status = 'invited'
                """, logger: database.logger)
            guard let user = try await UserRepository.users(rows).first else { throw IdentityError.userNotFound }
            try await connection.query("UPDATE invitations SET expires_at = now() WHERE user_id = \(userID) AND accepted_at IS NULL", logger: database.logger)
            try await Self.insert(token, user: user, hashKey: hashKey, on: connection, logger: database.logger)
            try await AuditOutbox.append(AuditEvent(
                tenantID: tenant, region: region, actor: actor, action: "user.invitation_reissued",
                resource: .init(type: "user", id: userID.uuidString.lowercased(), label: user.email.rawValue), requestID: requestID, source: "api"
            ), on: connection, logger: database.logger)
        }
        return token.presented
    }

    private static func insert(_ token: SecretCredential, user: User, hashKey: SymmetricKey, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("""
            INSERT INTO invitations (id, tenant_id, user_id, secret_hash, expires_at)
            VALUES (\(token.id), \(user.tenantID.rawValue), \(user.id), \(token.secretHash(using: hashKey)), \(Date.now.addingTimeInterval(lifetime)))
            """, logger: logger)
    }

    /// The invited user a live token belongs to, or `nil`.
    public func pending(_ presented: String, tenant: TenantID) async throws -> User? {
        guard let token = SecretCredential(presented: presented, kind: .invitation) else { return nil }
        let hashKey = self.hashKey
        return try await database.withTenant(tenant) { connection in
            try await Self.pending(token, hashKey: hashKey, lock: false, on: connection, logger: database.logger)
        }
    }

    private static func pending(_ token: SecretCredential, hashKey: SymmetricKey, lock: Bool, on connection: PostgresConnection, logger: Logger) async throws -> User? {
        let rows = try await connection.query("""
            SELECT i.secret_hash, u.id, u.tenant_id, u.email, u.name, u.role, u.status, u.created_at
            FROM invitations i JOIN users u ON u.id = i.user_id
            WHERE i.id = \(token.id) AND i.accepted_at IS NULL AND i.expires_at > now() AND u.status = 'invited'
            \(unescaped: lock ? "FOR NO KEY UPDATE OF i, u" : "")
            """, logger: logger)
        for try await (hash, id, tenantID, email, name, role, status, created) in rows.decode((Data, UUID, UUID, String, String, String, String, Date).self) {
            guard token.matches(hash, using: hashKey) else { return nil }
            return User(id: id, tenantID: tenantID, email: email, name: name, role: role, status: status, createdAt: created)
        }
        return nil
    }

    /// Why an invitation was not accepted.
    public enum Refusal: Error, Sendable, Equatable {
        case invalidInvitation
        case weakPassword([PasswordRuleViolation])
    }

    /// Sets the invitee's password (tenant policy applies), activates them and starts a session.
    public func accept(_ presented: String, password: String, tenant: TenantID, ip: String?, userAgent: String?, requestID: String?) async throws -> Result<(User, token: String, expiresAt: Date), Refusal> {
        guard let token = SecretCredential(presented: presented, kind: .invitation), let invited = try await pending(presented, tenant: tenant) else {
            return .failure(.invalidInvitation)
        }
        let settings = try await database.withTenant(tenant) { try await SecuritySettings.load(tenant: tenant, on: $0, logger: database.logger) }
        let policy = invited.role.isStaff ? settings.staffPasswordPolicy : settings.customerPasswordPolicy
        let violations = policy.violations(of: password, for: .init(email: invited.email.rawValue, name: invited.name))
        guard violations.isEmpty else { return .failure(.weakPassword(violations)) }
        let hash = try await hasher.hash(password)
        let hashKey = self.hashKey
        let region = self.region
        return try await database.withTenant(tenant) { connection in
            // Re-checked with the invitation's and the user's rows locked: two tabs accepting at
            // once activate the user once, and a deactivation that committed meanwhile wins.
            guard var user = try await Self.pending(token, hashKey: hashKey, lock: true, on: connection, logger: database.logger) else {
                return .failure(.invalidInvitation)
            }
            try await connection.query("UPDATE invitations SET accepted_at = now() WHERE id = \(token.id)", logger: database.logger)
            try await connection.query("""
                UPDATE users SET password_hash = \(hash), password_changed_at = now(), status = 'active' WHERE id = \(user.id)
                """, logger: database.logger)
            user.status = .active
            let session = try await SessionRepository.start(for: user, method: "password", ip: ip, userAgent: userAgent, settings: settings,
                                                            on: connection, logger: database.logger)
            try await AuditOutbox.append(AuditEvent(
                tenantID: tenant, region: region,
                actor: .init(type: user.role.actorType, id: user.id.uuidString.lowercased(), displayName: user.email.rawValue, ip: ip),
                action: "user.invitation_accepted", resource: .init(type: "user", id: user.id.uuidString.lowercased(), label: user.email.rawValue),
                requestID: requestID, source: "ui"
            ), on: connection, logger: database.logger)
            return .success((user, session.token, session.absoluteExpiry))
        }
    }
}
