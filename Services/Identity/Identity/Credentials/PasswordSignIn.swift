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
    /// When set, users with TOTP enabled need a second step before they get a session.
    public let twoFactor: TwoFactorRepository?

    public init(database: Database, region: Region, hasher: PasswordHasher, twoFactor: TwoFactorRepository? = nil) {
        self.database = database
        self.region = region
        self.hasher = hasher
        self.twoFactor = twoFactor
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
        /// The password was right; a TOTP or recovery code must follow with this challenge.
        case secondFactorRequired(challenge: String, expiresAt: Date)
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
            if admission.lockedNow {
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
                guard let user = User(id: id, tenantID: tenantID, email: mail, name: name, role: role, status: status, createdAt: created) else { return nil }
                return (user, hash)
            }
            return nil
        }
        var verification = PasswordHasher.Verification.mismatch
        if let (_, hash) = stored, let hash {
            verification = try await hasher.verify(password, against: hash)
        } else {
            try await hasher.verifyAgainstDummy(password)
        }
        guard case .match(let needsRehash) = verification, let (user, storedHash) = stored, let verifiedHash = storedHash, user.status == .active else {
            try await database.withTenant(tenant.id) { connection in
                try await AuditOutbox.append(Self.event(tenant, region, email: email, user: stored?.0, origin: origin,
                                                        action: "auth.sign_in_failed", outcome: "failure"), on: connection, logger: logger)
            }
            return .refused
        }

        // A role that must use single sign-on may not use a password; only the tenant's one
        // break-glass account may, and every such sign-in is audited.
        let sso = try await database.withTenant(tenant.id) { connection in
            try await SSOConfigurationRepository.load(tenant: tenant.id, audience: .of(user.role), on: connection, logger: logger)
        }
        if let sso, sso.ssoRequiredRoles.contains(user.role) {
            let breakGlass = sso.breakGlassEmail == user.email
            try await database.withTenant(tenant.id) { connection in
                var event = Self.event(tenant, region, email: email, user: user, origin: origin,
                                       action: breakGlass ? "auth.break_glass_used" : "auth.sign_in_failed", outcome: breakGlass ? "success" : "failure")
                event.changes = breakGlass ? nil : ["reason": [nil, "sso_required"]]
                try await AuditOutbox.append(event, on: connection, logger: logger)
            }
            if !breakGlass { return .refused }
        }

        // 3. Success: clear the account's counter, raise the hash if the cost went up, then either
        //    ask for the second factor or start a session.
        let rehashed = needsRehash ? try await hasher.hash(password) : nil
        let needsSecondFactor = try await twoFactor?.isEnabled(user) == true
        return try await database.withTenant(tenant.id) { connection in
            // The password was checked outside any transaction (Argon2id is slow): a password
            // change or deactivation that committed since then wins, and this sign-in starts
            // nothing (nor writes the old password back as a rehash).
            guard try await Self.stillActive(user.id, password: (password, checked: verifiedHash), hasher: hasher, on: connection, logger: logger) else {
                var event = Self.event(tenant, region, email: email, user: user, origin: origin, action: "auth.sign_in_failed", outcome: "failure")
                event.changes = ["reason": [nil, "account_changed"]]
                try await AuditOutbox.append(event, on: connection, logger: logger)
                return .refused
            }
            try await AuthThrottle.succeeded(account: account, address: address, tenant: tenant.id, on: connection, logger: logger)
            if let rehashed {
                try await connection.query("UPDATE users SET password_hash = \(rehashed) WHERE id = \(user.id)", logger: logger)
            }
            if needsSecondFactor {
                let challenge = SessionRepository.newToken()
                let expires = Date.now.addingTimeInterval(300)
                try await connection.query("""
                    INSERT INTO auth_challenges (token_hash, tenant_id, user_id, expires_at)
                    VALUES (\(SessionRepository.hash(challenge)), \(tenant.id.rawValue), \(user.id), \(expires))
                    """, logger: logger)
                return .secondFactorRequired(challenge: challenge, expiresAt: expires)
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

    /// Whether user `id` is still active and, given `password`, still has it: the stored hash is
    /// the one it was checked against, or (rewritten since, by another sign-in's rehash) still
    /// verifies it. Their row stays locked until the transaction ends, so neither can change
    /// before what is started here commits (`NO KEY`: inserts that refer to the user may go on).
    static func stillActive(_ id: UUID, password: (String, checked: String)?, hasher: PasswordHasher,
                            on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        let rows = try await connection.query("SELECT password_hash FROM users WHERE id = \(id) AND status = 'active' FOR NO KEY UPDATE", logger: logger)
        var found = false
        var current: String?
        for try await value in rows.decode(String?.self) { (found, current) = (true, value) }
        guard found else { return false }
        guard let (password, checked) = password else { return true }
        guard let current else { return false }
        if current == checked { return true }
        if case .match = try await hasher.verify(password, against: current) { return true }
        return false
    }

    /// The answer for a host whose tenant does not exist or is not active: refused after the same
    /// Argon2id work as a real check, so timing does not reveal which tenants exist.
    public func refuseWithoutTenant(password: String) async throws -> Outcome {
        try await hasher.verifyAgainstDummy(password)
        return .refused
    }

    /// The second step: a TOTP or recovery code for a live challenge. Throttled per user and
    /// address like passwords; the challenge works once.
    public func completeSecondFactor(tenant: Tenant, challenge: String, code: String, origin: Origin) async throws -> Outcome {
        guard let twoFactor, (20...100).contains(challenge.utf8.count) else { return .refused }
        let logger = database.logger
        let region = self.region
        let pending = try await database.withTenant(tenant.id) { connection -> User? in
            let rows = try await connection.query("""
                SELECT u.id, u.tenant_id, u.email, u.name, u.role, u.status, u.created_at
                FROM auth_challenges c JOIN users u ON u.id = c.user_id
                WHERE c.token_hash = \(SessionRepository.hash(challenge)) AND c.used_at IS NULL AND c.expires_at > now() AND u.status = 'active'
                """, logger: logger)
            return try await UserRepository.users(rows).first
        }
        guard let user = pending else { return .refused }
        let counter = AuthThrottle.Counter(key: "second-factor:\(user.id.uuidString.lowercased())", rule: .account)
        let address = origin.ip.map(AuthThrottle.Counter.address)
        let admission = try await database.withTenant(tenant.id) { connection in
            try await AuthThrottle.begin([counter] + (address.map { [$0] } ?? []), tenant: tenant.id, on: connection, logger: logger)
        }
        if let wait = admission.wait { return .throttled(retryAfter: wait) }
        guard let method = try await twoFactor.verify(user, code: code) else {
            try await database.withTenant(tenant.id) { connection in
                try await AuditOutbox.append(Self.event(tenant, region, email: user.email.rawValue, user: user, origin: origin,
                                                        action: "auth.second_factor_failed", outcome: "failure"), on: connection, logger: logger)
            }
            return .refused
        }
        let hasher = self.hasher
        return try await database.withTenant(tenant.id) { connection in
            // The user first (a deactivation that committed since the challenge was read wins),
            // then the challenge: the order a password change takes them in, so the two cannot deadlock.
            guard try await Self.stillActive(user.id, password: nil, hasher: hasher, on: connection, logger: logger) else { return .refused }
            let used = try await connection.query("""
                UPDATE auth_challenges SET used_at = now() WHERE token_hash = \(SessionRepository.hash(challenge)) AND used_at IS NULL RETURNING 1
                """, logger: logger)
            var consumed = false
            for try await _ in used.decode(Int.self) { consumed = true }
            guard consumed else { return .refused }
            try await AuthThrottle.succeeded(account: counter, address: address, tenant: tenant.id, on: connection, logger: logger)
            let settings = try await SecuritySettings.load(tenant: tenant.id, on: connection, logger: logger)
            let session = try await SessionRepository.start(for: user, method: "totp", ip: origin.ip, userAgent: origin.userAgent,
                                                            settings: settings, on: connection, logger: logger)
            var event = Self.event(tenant, region, email: user.email.rawValue, user: user, origin: origin, action: "auth.signed_in", outcome: "success")
            event.actor.sessionID = session.id.uuidString.lowercased()
            event.actor.authenticationMethod = method
            try await AuditOutbox.append(event, on: connection, logger: logger)
            return .signedIn(user: user, token: session.token, sessionID: session.id, expiresAt: session.absoluteExpiry)
        }
    }

    static func event(_ tenant: Tenant, _ region: Region, email: String, user: User?, origin: Origin, action: String, outcome: String) -> AuditEvent {
        let actorType = user?.role.actorType ?? "anonymous"
        return AuditEvent(
            tenantID: tenant.id, region: region,
            actor: .init(type: actorType, id: user?.id.uuidString.lowercased() ?? "unknown", displayName: email, ip: origin.ip,
                         userAgent: origin.userAgent.map { String($0.prefix(300)) }, authenticationMethod: "password"),
            action: action, resource: .init(type: "user", id: user?.id.uuidString.lowercased() ?? "unknown", label: email),
            outcome: outcome, requestID: origin.requestID, source: "ui"
        )
    }
}
