import Crypto
import Foundation
import PostgresNIO
import RampartCore
import RampartSecurity
import RampartStorage

/// TOTP enrollment and checks, and recovery codes. Secrets are sealed with the tenant's key;
/// recovery codes are stored as keyed hashes; a used TOTP step or recovery code never works twice.
public struct TwoFactorRepository: Sendable {
    public let database: Database
    public let region: Region
    public let keyring: TenantKeyring
    let codeHashKey: SymmetricKey

    public init(database: Database, region: Region, keyring: TenantKeyring, codeHashKey: SymmetricKey) {
        self.database = database
        self.region = region
        self.keyring = keyring
        self.codeHashKey = codeHashKey
    }

    public enum TwoFactorError: Error, Equatable, Sendable {
        case alreadyEnabled
        case notEnrolling
        case wrongCode
    }

    static func sealContext(_ user: User) -> SealContext {
        SealContext(table: "totp_credentials", column: "secret", rowID: user.id.uuidString.lowercased())
    }

    /// Starts (or restarts) enrollment; the secret is not active until a first code confirms it.
    public func enroll(_ user: User) async throws -> TOTP {
        let secret = TOTP.generateSecret()
        let sealed = try await keyring.seal(secret, tenant: user.tenantID, context: Self.sealContext(user))
        try await database.withTenant(user.tenantID) { connection in
            let rows = try await connection.query("""
                INSERT INTO totp_credentials (user_id, tenant_id, secret_sealed) VALUES (\(user.id), \(user.tenantID.rawValue), \(sealed))
                ON CONFLICT (user_id) DO UPDATE SET secret_sealed = EXCLUDED.secret_sealed, created_at = now(), last_used_step = NULL
                WHERE totp_credentials.confirmed_at IS NULL
                RETURNING 1
                """, logger: database.logger)
            var written = false
            for try await _ in rows.decode(Int.self) { written = true }
            guard written else { throw TwoFactorError.alreadyEnabled }
        }
        return TOTP(secret: secret)
    }

    /// Confirms enrollment with a first code; returns ten single-use recovery codes, shown once.
    public func confirm(_ user: User, code: String, actor: AuditEvent.Actor, requestID: String?) async throws -> [String] {
        let region = self.region
        let codes = (0..<10).map { _ in Self.recoveryCode() }
        let hashes = codes.map { Self.hash($0, key: codeHashKey) }
        try await database.withTenant(user.tenantID) { connection in
            // Locked: a second confirmation (another tab) waits and finds it confirmed, and a new
            // enrollment cannot swap the secret between this check and the write.
            guard let (totp, lastStep, confirmed) = try await load(user, connection, lock: true) else { throw TwoFactorError.notEnrolling }
            guard !confirmed else { throw TwoFactorError.alreadyEnabled }
            guard let step = totp.verify(code, lastUsedStep: lastStep) else { throw TwoFactorError.wrongCode }
            try await connection.query("UPDATE totp_credentials SET confirmed_at = now(), last_used_step = \(step) WHERE user_id = \(user.id)", logger: database.logger)
            try await connection.query("DELETE FROM recovery_codes WHERE user_id = \(user.id)", logger: database.logger)
            for hash in hashes {
                try await connection.query("INSERT INTO recovery_codes (code_hash, tenant_id, user_id) VALUES (\(hash), \(user.tenantID.rawValue), \(user.id))", logger: database.logger)
            }
            try await AuditOutbox.append(AuditEvent(
                tenantID: user.tenantID, region: region, actor: actor, action: "mfa.totp_enabled",
                resource: .init(type: "user", id: user.id.uuidString.lowercased(), label: user.email.rawValue),
                requestID: requestID, source: "ui"
            ), on: connection, logger: database.logger)
        }
        return codes
    }

    /// Removes the user's TOTP credential and recovery codes (after the caller re-authenticated
    /// and proved a second factor).
    public func disable(_ user: User, actor: AuditEvent.Actor, requestID: String?) async throws {
        let region = self.region
        try await database.withTenant(user.tenantID) { connection in
            try await connection.query("DELETE FROM totp_credentials WHERE user_id = \(user.id)", logger: database.logger)
            try await connection.query("DELETE FROM recovery_codes WHERE user_id = \(user.id)", logger: database.logger)
            try await AuditOutbox.append(AuditEvent(
                tenantID: user.tenantID, region: region, actor: actor, action: "mfa.totp_disabled",
                resource: .init(type: "user", id: user.id.uuidString.lowercased(), label: user.email.rawValue),
                requestID: requestID, source: "ui"
            ), on: connection, logger: database.logger)
        }
    }

    /// Whether the user has a confirmed TOTP credential.
    public func isEnabled(_ user: User) async throws -> Bool {
        try await database.withTenant(user.tenantID) { connection in
            let rows = try await connection.query("""
                SELECT 1 FROM totp_credentials WHERE user_id = \(user.id) AND confirmed_at IS NOT NULL
                """, logger: database.logger)
            for try await _ in rows.decode(Int.self) { return true }
            return false
        }
    }

    /// Checks a TOTP code or a recovery code and consumes it; `nil` when neither is valid now.
    public func verify(_ user: User, code: String) async throws -> String? {
        try await database.withTenant(user.tenantID) { connection in
            if let (totp, lastStep, confirmed) = try await load(user, connection), confirmed,
               let step = totp.verify(code, lastUsedStep: lastStep) {
                // Conditional update: of two parallel uses of one code, only one wins.
                let rows = try await connection.query("""
                    UPDATE totp_credentials SET last_used_step = \(step)
                    WHERE user_id = \(user.id) AND (last_used_step IS NULL OR last_used_step < \(step)) RETURNING 1
                    """, logger: database.logger)
                for try await _ in rows.decode(Int.self) { return "totp" }
                return nil
            }
            let normalized = code.lowercased().filter { $0.isLetter || $0.isNumber }
            guard normalized.count == 10 else { return nil }
            let rows = try await connection.query("""
                UPDATE recovery_codes SET used_at = now()
                WHERE code_hash = \(Self.hash(normalized, key: codeHashKey)) AND user_id = \(user.id) AND used_at IS NULL RETURNING 1
                """, logger: database.logger)
            for try await _ in rows.decode(Int.self) { return "recovery_code" }
            return nil
        }
    }

    private func load(_ user: User, _ connection: PostgresConnection, lock: Bool = false) async throws -> (TOTP, Int64?, Bool)? {
        let rows = try await connection.query("""
            SELECT secret_sealed, last_used_step, confirmed_at IS NOT NULL FROM totp_credentials WHERE user_id = \(user.id)
            \(unescaped: lock ? "FOR UPDATE" : "")
            """, logger: database.logger)
        for try await (sealed, step, confirmed) in rows.decode((Data, Int64?, Bool).self) {
            let secret = try await keyring.open(sealed, tenant: user.tenantID, context: Self.sealContext(user))
            return (TOTP(secret: secret), step, confirmed)
        }
        return nil
    }

    /// Ten characters of base32 (50 bits), shown as `xxxxx-xxxxx`.
    static func recoveryCode() -> String {
        let raw = Base32.encode(SymmetricKey(size: .init(bitCount: 64)).withUnsafeBytes { Data($0) }).lowercased().prefix(10)
        return "\(raw.prefix(5))-\(raw.suffix(5))"
    }

    static func hash(_ code: String, key: SymmetricKey) -> Data {
        let normalized = code.lowercased().filter { $0.isLetter || $0.isNumber }
        return Data(HMAC<SHA256>.authenticationCode(for: Data("rampart.recovery-code.v1\u{0}\(normalized)".utf8), using: key))
    }
}
