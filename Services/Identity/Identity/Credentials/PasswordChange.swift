import Foundation
import PostgresNIO
import RampartCore
import RampartStorage

/// Changing one's own password: the current one checked (and throttled like a sign-in), the
/// tenant's policy for the user's audience applied, the last passwords refused as the policy's
/// history demands; on success every session of the user ends and a new one starts.
public struct PasswordChange: Sendable {
    public let database: Database
    public let region: Region
    public let hasher: PasswordHasher

    public init(database: Database, region: Region, hasher: PasswordHasher) {
        self.database = database
        self.region = region
        self.hasher = hasher
    }

    public enum Outcome: Sendable {
        case changed(sessionToken: String, expiresAt: Date)
        case wrongCurrentPassword
        case rejected([PasswordRuleViolation])
        case throttled(retryAfter: Duration)
    }

    /// Why a re-authentication did not pass.
    public enum Reauthentication: Sendable {
        /// The password is right; `hash` is its stored hash.
        case confirmed(hash: String)
        case wrongPassword
        case throttled(retryAfter: Duration)
    }

    /// Checks the user's current password before a sensitive change, counted like a sign-in
    /// attempt; a right password clears the account's counter.
    public func reauthenticate(user: User, password: String) async throws -> Reauthentication {
        let logger = database.logger
        let counter = AuthThrottle.Counter.account(user.email.rawValue)
        let admission = try await database.withTenant(user.tenantID) { connection in
            try await AuthThrottle.begin([counter], tenant: user.tenantID, on: connection, logger: logger)
        }
        if let wait = admission.wait { return .throttled(retryAfter: wait) }
        let hash = try await database.withTenant(user.tenantID) { connection -> String? in
            var hash: String?
            for try await value in try await connection.query("SELECT password_hash FROM users WHERE id = \(user.id) AND status = 'active'", logger: logger).decode(String?.self) { hash = value }
            return hash
        }
        guard let hash, case .match = try await hasher.verify(password, against: hash) else { return .wrongPassword }
        try await database.withTenant(user.tenantID) { connection in
            try await AuthThrottle.succeeded(account: counter, address: nil, tenant: user.tenantID, on: connection, logger: logger)
        }
        return .confirmed(hash: hash)
    }

    public func change(user: User, current: String, new: String, method: String, requestID: String?) async throws -> Outcome {
        let logger = database.logger
        let region = self.region
        let hash: String
        switch try await reauthenticate(user: user, password: current) {
        case .throttled(let wait): return .throttled(retryAfter: wait)
        case .wrongPassword: return .wrongCurrentPassword
        case .confirmed(let verified): hash = verified
        }

        let (history, settings) = try await database.withTenant(user.tenantID) { connection -> ([String], SecuritySettings) in
            var history: [String] = []
            for try await value in try await connection.query("""
                SELECT password_hash FROM password_history WHERE user_id = \(user.id) ORDER BY replaced_at DESC LIMIT 24
                """, logger: logger).decode(String.self) { history.append(value) }
            return (history, try await SecuritySettings.load(tenant: user.tenantID, on: connection, logger: logger))
        }

        let policy = user.role.isStaff ? settings.staffPasswordPolicy : settings.customerPasswordPolicy
        var violations = policy.violations(of: new, for: .init(email: user.email.rawValue, name: user.name))
        // The current password counts as the most recent one.
        if let reused = try await PasswordHistory.violation(new, previousHashes: [hash] + history, depth: max(policy.historyDepth, 1), hasher: hasher) {
            violations.append(policy.historyDepth > 0 ? reused : .reused(depth: 1))
        }
        guard violations.isEmpty else { return .rejected(violations) }

        let newHash = try await hasher.hash(new)
        let hasher = self.hasher
        return try await database.withTenant(user.tenantID) { connection in
            // Only while the password given is still the current one, checked with the row locked:
            // of two changes made with it at once, one applies and the other finds it no longer
            // current, so none slips past the history check or undoes the other. A hash rewritten
            // meanwhile by a sign-in's rehash still verifies it.
            let locked = try await connection.query("""
                SELECT password_hash FROM users WHERE id = \(user.id) AND status = 'active' FOR NO KEY UPDATE
                """, logger: logger)
            var stored: String?
            for try await value in locked.decode(String?.self) { stored = value }
            guard let stored else { return .wrongCurrentPassword }
            if stored != hash {
                guard case .match = try await hasher.verify(current, against: stored) else { return .wrongCurrentPassword }
            }
            try await connection.query("""
                UPDATE users SET password_hash = \(newHash), password_changed_at = now() WHERE id = \(user.id)
                """, logger: logger)
            try await connection.query("""
                INSERT INTO password_history (tenant_id, user_id, password_hash) VALUES (\(user.tenantID.rawValue), \(user.id), \(stored))
                """, logger: logger)
            try await connection.query("UPDATE sessions SET revoked_at = now() WHERE user_id = \(user.id) AND revoked_at IS NULL", logger: logger)
            // A sign-in with the old password still waiting for its second factor ends too.
            try await connection.query("UPDATE auth_challenges SET used_at = now() WHERE user_id = \(user.id) AND used_at IS NULL", logger: logger)
            let session = try await SessionRepository.start(for: user, method: method, ip: nil, userAgent: nil, settings: settings, on: connection, logger: logger)
            try await AuditOutbox.append(AuditEvent(
                tenantID: user.tenantID, region: region,
                actor: .init(type: user.role.actorType, id: user.id.uuidString.lowercased(), displayName: user.email.rawValue),
                action: "user.password_changed", resource: .init(type: "user", id: user.id.uuidString.lowercased(), label: user.email.rawValue),
                requestID: requestID, source: "ui"
            ), on: connection, logger: logger)
            return .changed(sessionToken: session.token, expiresAt: session.absoluteExpiry)
        }
    }
}
