import Foundation
import PostgresNIO
import RampartCore
import RampartStorage

/// Signing in with email and password: throttled per account and address, the same answer and
/// the same work for unknown accounts as for wrong passwords, a new session on success, and an
/// audit event for every outcome.
public struct PasswordSignIn: Sendable {
    public let database: Database
    public let region: Region
    public let hasher: PasswordHasher

    public init(database: Database, region: Region, hasher: PasswordHasher) {
        self.database = database
        self.region = region
        self.hasher = hasher
    }

    /// Where the attempt came from (set by the gateway, never by the client).
    public struct Origin: Sendable {
        public var ip: String?
        public var userAgent: String?
        public var requestID: String?

        public init(ip: String?, userAgent: String?, requestID: String?) {
            self.ip = ip
            self.userAgent = userAgent
            self.requestID = requestID
        }
    }

    public enum Outcome: Sendable {
        case signedIn(user: User, token: String, sessionID: UUID, expiresAt: Date)
        /// Wrong password, unknown or inactive account: deliberately indistinguishable.
        case refused
        case throttled(retryAfter: Duration)
    }

    public func signIn(tenant: Tenant, email rawEmail: String, password: String, origin: Origin) async throws -> Outcome {
        let email = String(rawEmail.trimmingCharacters(in: .whitespaces).lowercased().prefix(254))
        let account = AuthThrottle.Counter.account(email)
        let address = origin.ip.map(AuthThrottle.Counter.address)
        let logger = database.logger
        let region = self.region

        // 1. Count the attempt first, in its own transaction, so it stands whatever happens next.
        let admission = try await database.withTenant(tenant.id) { connection in
            let admission = try await AuthThrottle.begin([account] + (address.map { [$0] } ?? []), tenant: tenant.id, on: connection, logger: logger)
            if admission.lockedNow || admission.wait != nil {
                try await AuditOutbox.append(Self.event(tenant, region, email: email, user: nil, origin: origin,
                                                        action: "auth.locked_out", outcome: "failure"), on: connection, logger: logger)
            }
            return admission
        }
        if let wait = admission.wait { return .throttled(retryAfter: wait) }

        // 2. Check the password; unknown and inactive accounts cost the same Argon2id work.
        let stored = try await database.withTenant(tenant.id) { connection -> (User, String?)? in
            let rows = try await connection.query("""
                SELECT id, tenant_id, email, name, role, status, created_at, password_hash FROM users WHERE email = \(email)
                """, logger: logger)
            for try await (id, tenantID, mail, name, role, status, created, hash) in rows.decode((UUID, UUID, String, String, String, String, Date, String?).self) {
                guard let mail = EmailAddress(rawValue: mail), let role = Role(rawValue: role), let status = User.Status(rawValue: status) else { return nil }
                return (User(id: id, tenantID: TenantID(rawValue: tenantID), email: mail, name: name, role: role, status: status, createdAt: created), hash)
            }
            return nil
        }
        var verification = PasswordHasher.Verification.mismatch
        if let (_, hash) = stored, let hash {
            verification = try await hasher.verify(password, against: hash)
        } else {
            try await hasher.verifyAgainstDummy(password)
        }
        guard case .match(let needsRehash) = verification, let (user, _) = stored, user.status == .active else {
            try await database.withTenant(tenant.id) { connection in
                try await AuditOutbox.append(Self.event(tenant, region, email: email, user: stored?.0, origin: origin,
                                                        action: "auth.sign_in_failed", outcome: "failure"), on: connection, logger: logger)
            }
            return .refused
        }

        // 3. Success: clear the account's counter, raise the hash if the cost went up, start a session.
        let rehashed = needsRehash ? try await hasher.hash(password) : nil
        return try await database.withTenant(tenant.id) { connection in
            try await AuthThrottle.succeeded(account: account, address: address, tenant: tenant.id, on: connection, logger: logger)
            if let rehashed {
                try await connection.query("UPDATE users SET password_hash = \(rehashed) WHERE id = \(user.id)", logger: logger)
            }
            let settings = try await SecuritySettings.load(tenant: tenant.id, on: connection, logger: logger)
            let session = try await SessionRepository.start(for: user, method: "password", ip: origin.ip, userAgent: origin.userAgent,
                                                            settings: settings, on: connection, logger: logger)
            var event = Self.event(tenant, region, email: email, user: user, origin: origin, action: "auth.signed_in", outcome: "success")
            event.actor.sessionID = session.id.uuidString.lowercased()
            try await AuditOutbox.append(event, on: connection, logger: logger)
            return .signedIn(user: user, token: session.token, sessionID: session.id, expiresAt: session.absoluteExpiry)
        }
    }

    static func event(_ tenant: Tenant, _ region: Region, email: String, user: User?, origin: Origin, action: String, outcome: String) -> AuditEvent {
        let actorType = user.map { $0.role == .customer ? "customer" : ($0.role == .admin ? "admin" : "agent") } ?? "anonymous"
        return AuditEvent(
            tenantID: tenant.id, region: region,
            actor: .init(type: actorType, id: user?.id.uuidString.lowercased() ?? "unknown", displayName: email, ip: origin.ip,
                         userAgent: origin.userAgent.map { String($0.prefix(300)) }, authenticationMethod: "password"),
            action: action, resource: .init(type: "user", id: user?.id.uuidString.lowercased() ?? "unknown", label: email),
            outcome: outcome, requestID: origin.requestID, source: "ui"
        )
    }
}
