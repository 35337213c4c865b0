import Crypto
import Foundation
import RampartSecurity
import PostgresNIO
import RampartCore
import RampartStorage

/// Server-side sessions. The client holds a 256-bit random token in a `__Host-` cookie; the
/// table holds its SHA-256, so a database read does not yield usable sessions.
public struct SessionRepository: Sendable {
    public let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// The cookie that carries the session token.
    public static let cookieName = "__Host-rampart_session"

    /// A live session as the principal resolver needs it.
    public struct Active: Sendable {
        public var id: UUID
        public var user: User
        public var authenticationMethod: String
        /// The tenant requires a second factor for this user's role and the session has none:
        /// it may only enroll one.
        public var secondFactorPending: Bool
    }

    /// 256 random bits, base64url.
    static func newToken() -> String {
        SymmetricKey(size: .bits256).withUnsafeBytes { Base64URL.encode($0) }
    }

    static func hash(_ token: String) -> Data {
        Data(SHA256.hash(data: Data(token.utf8)))
    }

    /// Starts a session for `user`; returns the token (for the cookie) and the session id.
    public static func start(
        for user: User, method: String, ip: String?, userAgent: String?, settings: SecuritySettings,
        on connection: PostgresConnection, logger: Logger
    ) async throws -> (token: String, id: UUID, absoluteExpiry: Date) {
        let token = newToken()
        let id = UUID()
        let now = Date.now
        let idle = now.addingTimeInterval(TimeInterval(settings.sessionIdleMinutes * 60))
        let absolute = now.addingTimeInterval(TimeInterval(settings.sessionAbsoluteHours * 3600))
        try await connection.query("""
            INSERT INTO sessions (token_hash, id, tenant_id, user_id, authentication_method, idle_expires_at, absolute_expires_at, ip, user_agent)
            VALUES (\(hash(token)), \(id), \(user.tenantID.rawValue), \(user.id), \(method), \(min(idle, absolute)), \(absolute), \(ip)::inet, \(userAgent.map { String($0.prefix(300)) }))
            """, logger: logger)
        return (token, id, absolute)
    }

    /// The live session for `token` in `tenant`, its idle expiry pushed forward; `nil` when unknown,
    /// revoked, idle too long, past its absolute lifetime, or its user is no longer active.
    public func resolve(token: String, tenant: TenantID) async throws -> Active? {
        guard (20...100).contains(token.utf8.count) else { return nil }
        return try await database.withTenant(tenant) { connection in
            let rows = try await connection.query("""
                UPDATE sessions s SET last_seen_at = now(),
                    idle_expires_at = LEAST(s.absolute_expires_at, now() + make_interval(mins => COALESCE(
                        (SELECT session_idle_minutes FROM security_settings WHERE tenant_id = s.tenant_id), 480)))
                FROM users u
                WHERE s.token_hash = \(Self.hash(token)) AND u.id = s.user_id
                  AND s.revoked_at IS NULL AND s.idle_expires_at > now() AND s.absolute_expires_at > now()
                  AND u.status = 'active'
                RETURNING s.id, s.authentication_method, u.id, u.tenant_id, u.email, u.name, u.role, u.status, u.created_at,
                    s.authentication_method = 'password' AND COALESCE(
                        (SELECT u.role = ANY (totp_required_roles) FROM security_settings WHERE tenant_id = s.tenant_id), false)
                """, logger: database.logger)
            for try await (id, method, userID, tenantID, email, name, role, status, created, pending)
                in rows.decode((UUID, String, UUID, UUID, String, String, String, String, Date, Bool).self) {
                guard let user = User(id: userID, tenantID: tenantID, email: email, name: name, role: role, status: status, createdAt: created) else { return nil }
                return Active(id: id, user: user, authenticationMethod: method, secondFactorPending: pending)
            }
            return nil
        }
    }

    /// A session as its owner sees it in "your sessions".
    public struct Listed: Codable, Sendable, Equatable {
        public var id: UUID
        public var createdAt: Date
        public var lastSeenAt: Date
        public var ip: String?
        public var userAgent: String?
        public var authenticationMethod: String

        enum CodingKeys: String, CodingKey {
            case id, ip
            case createdAt = "created_at"
            case lastSeenAt = "last_seen_at"
            case userAgent = "user_agent"
            case authenticationMethod = "authentication_method"
        }
    }

    /// The user's live sessions, most recently used first.
    public func list(user: UUID, tenant: TenantID) async throws -> [Listed] {
        try await database.withTenant(tenant) { connection in
            let rows = try await connection.query("""
                SELECT id, created_at, last_seen_at, host(ip), user_agent, authentication_method FROM sessions
                WHERE user_id = \(user) AND revoked_at IS NULL AND idle_expires_at > now() AND absolute_expires_at > now()
                ORDER BY last_seen_at DESC
                """, logger: database.logger)
            var sessions: [Listed] = []
            for try await (id, created, seen, ip, agent, method) in rows.decode((UUID, Date, Date, String?, String?, String).self) {
                sessions.append(Listed(id: id, createdAt: created, lastSeenAt: seen, ip: ip, userAgent: agent, authenticationMethod: method))
            }
            return sessions
        }
    }

    /// Revokes sessions of `user`: one by id, or all of them but `keeping` (none: all); returns
    /// how many ended.
    @discardableResult
    public func revoke(user: UUID, sessionID: UUID?, keeping: UUID? = nil, tenant: TenantID, actor: AuditEvent.Actor, region: Region,
                       requestID: String?) async throws -> Int {
        try await database.withTenant(tenant) { connection in
            let rows = try await connection.query("""
                UPDATE sessions SET revoked_at = now()
                WHERE user_id = \(user) AND revoked_at IS NULL AND (\(sessionID)::uuid IS NULL OR id = \(sessionID))
                  AND (\(keeping)::uuid IS NULL OR id <> \(keeping))
                RETURNING id
                """, logger: database.logger)
            var count = 0
            for try await _ in rows.decode(UUID.self) { count += 1 }
            if count > 0 {
                let action = sessionID != nil ? "session.revoked" : keeping != nil ? "session.revoked_others" : "session.revoked_all"
                try await AuditOutbox.append(AuditEvent(
                    tenantID: tenant, region: region, actor: actor, action: action,
                    resource: .init(type: "user", id: user.uuidString.lowercased()),
                    // Live sessions before and after; the one kept stays.
                    changes: ["sessions": keeping == nil ? [String(count), "0"] : [String(count + 1), "1"]],
                    requestID: requestID, source: "api"
                ), on: connection, logger: database.logger)
            }
            return count
        }
    }

    /// Revokes one session (sign-out) or every session of a user.
    public func revoke(sessionToken token: String, tenant: TenantID) async throws {
        try await database.withTenant(tenant) { connection in
            try await connection.query("UPDATE sessions SET revoked_at = now() WHERE token_hash = \(Self.hash(token)) AND revoked_at IS NULL", logger: database.logger)
        }
    }

    /// Replaces session `id` of `user` by a fresh one (new token and id) after a privilege
    /// change such as adding a second factor; the old token stops working at once.
    public func rotate(sessionID id: UUID, user: User, method: String, ip: String?) async throws -> (token: String, expiresAt: Date)? {
        try await database.withTenant(user.tenantID) { connection in
            let rows = try await connection.query("""
                UPDATE sessions SET revoked_at = now() WHERE id = \(id) AND user_id = \(user.id) AND revoked_at IS NULL RETURNING user_agent
                """, logger: database.logger)
            var found = false
            var agent: String?
            for try await userAgent in rows.decode(String?.self) {
                found = true
                agent = userAgent
            }
            guard found else { return nil }
            let settings = try await SecuritySettings.load(tenant: user.tenantID, on: connection, logger: database.logger)
            let started = try await Self.start(for: user, method: method, ip: ip, userAgent: agent, settings: settings, on: connection, logger: database.logger)
            return (started.token, started.absoluteExpiry)
        }
    }
}
