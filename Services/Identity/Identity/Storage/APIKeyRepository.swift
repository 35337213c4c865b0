import Crypto
import Foundation
import Logging
import PostgresNIO
import RampartCore
import RampartStorage

/// API keys: created for a user with scopes no wider than the user's role, stored as a keyed
/// hash of the secret, checked on every use for revocation, expiry, source address and the
/// user still being active.
public struct APIKeyRepository: Sendable {
    public let database: Database
    public let region: Region
    let hashKey: SymmetricKey

    public init(database: Database, region: Region, hashKey: SymmetricKey) {
        self.database = database
        self.region = region
        self.hashKey = hashKey
    }

    /// A key as listed: never its secret.
    public struct Record: Codable, Sendable, Equatable {
        public var id: String
        public var userID: UUID
        public var name: String
        public var scopes: [String]
        public var allowedCIDRs: [String]
        public var expiresAt: Date?
        public var createdAt: Date?
        public var lastUsedAt: Date?
        public var lastUsedIP: String?
        public var revokedAt: Date?

        enum CodingKeys: String, CodingKey {
            case id, name, scopes
            case userID = "user_id"
            case allowedCIDRs = "allowed_cidrs"
            case expiresAt = "expires_at"
            case createdAt = "created_at"
            case lastUsedAt = "last_used_at"
            case lastUsedIP = "last_used_ip"
            case revokedAt = "revoked_at"
        }
    }

    /// Creates a key for `user`; the returned credential is the only time its secret exists in clear.
    public func create(
        for user: User, name: String, scopes: [String], allowedCIDRs: [String], expiresAt: Date?,
        actor: AuditEvent.Actor, requestID: String?
    ) async throws -> (Record, SecretCredential) {
        let unknown = scopes.filter { !Permission.scopes.contains($0) }
        guard unknown.isEmpty, !scopes.isEmpty else { throw IdentityError.invalidScopes(unknown) }
        let granted = Set(user.role.permissions.compactMap(\.scope))
        let beyond = scopes.filter { !granted.contains($0) }
        guard beyond.isEmpty else { throw IdentityError.scopesExceedRole(beyond) }
        for cidr in allowedCIDRs where !CIDR.isValid(cidr) { throw IdentityError.invalidCIDR(cidr) }
        if let expiresAt, expiresAt <= .now { throw IdentityError.invalidExpiry }
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...100).contains(trimmed.count) else { throw IdentityError.invalidName }

        let credential = SecretCredential.generate(.apiKey)
        let record = Record(id: credential.id, userID: user.id, name: trimmed, scopes: scopes.sorted(), allowedCIDRs: allowedCIDRs, expiresAt: expiresAt, createdAt: .now)
        let hash = credential.secretHash(using: hashKey)
        let region = self.region
        try await database.withTenant(user.tenantID) { connection in
            // The owner as they are now, held until the key is stored: a deactivation (which
            // revokes every key) or a role change cannot commit in between and miss this key.
            let owner = try await connection.query("SELECT role FROM users WHERE id = \(user.id) AND status = 'active' FOR SHARE", logger: database.logger)
            var role: Role?
            for try await value in owner.decode(String.self) { role = Role(rawValue: value) }
            guard let role else { throw IdentityError.userNotFound }
            let current = Set(role.permissions.compactMap(\.scope))
            let exceeding = scopes.filter { !current.contains($0) }
            guard exceeding.isEmpty else { throw IdentityError.scopesExceedRole(exceeding) }
            try await connection.query("""
                INSERT INTO api_keys (id, tenant_id, user_id, name, secret_hash, scopes, allowed_cidrs, expires_at)
                VALUES (\(record.id), \(user.tenantID.rawValue), \(user.id), \(record.name), \(hash), \(record.scopes), \(allowedCIDRs)::inet[], \(expiresAt))
                """, logger: database.logger)
            try await AuditOutbox.append(AuditEvent(
                tenantID: user.tenantID, region: region, actor: actor, action: "api_key.created",
                resource: .init(type: "api_key", id: record.id, label: record.name),
                changes: ["scopes": [nil, record.scopes.joined(separator: ",")]], requestID: requestID,
                source: actor.type == "operator" ? "system" : "api"
            ), on: connection, logger: database.logger)
        }
        return (record, credential)
    }

    /// Why a presented key was not accepted; callers answer every case alike.
    public enum Refusal: String, Error, Sendable {
        case unknown, revoked, expired, addressNotAllowed = "address_not_allowed", userInactive = "user_inactive"
    }

    /// The key's owner and scopes when `credential` is a live key of `tenant`, used from `clientIP`.
    public func resolve(_ credential: SecretCredential, tenant: TenantID, clientIP: String?) async throws -> Result<(user: User, scopes: [String]), Refusal> {
        let hashKey = self.hashKey
        return try await database.withTenant(tenant) { connection in
            let rows = try await connection.query("""
                SELECT k.secret_hash, k.scopes, k.revoked_at, k.expires_at,
                       (cardinality(k.allowed_cidrs) = 0 OR EXISTS (SELECT 1 FROM unnest(k.allowed_cidrs) c WHERE \(clientIP)::inet <<= c)),
                       u.id, u.tenant_id, u.email, u.name, u.role, u.status, u.created_at
                FROM api_keys k JOIN users u ON u.id = k.user_id
                WHERE k.id = \(credential.id)
                """, logger: database.logger)
            for try await (hash, scopes, revoked, expires, addressAllowed, id, tenantID, email, name, role, status, created)
                in rows.decode((Data, [String], Date?, Date?, Bool?, UUID, UUID, String, String, String, String, Date).self) {
                guard credential.matches(hash, using: hashKey) else { return .failure(.unknown) }
                if revoked != nil { return .failure(.revoked) }
                if let expires, expires <= .now { return .failure(.expired) }
                guard addressAllowed == true else { return .failure(.addressNotAllowed) }
                guard let user = User(id: id, tenantID: tenantID, email: email, name: name, role: role, status: status, createdAt: created), user.status == .active else {
                    return .failure(.userInactive)
                }
                try await connection.query("""
                    UPDATE api_keys SET last_used_at = now(), last_used_ip = \(clientIP)::inet
                    WHERE id = \(credential.id) AND (last_used_at IS NULL OR last_used_at < now() - interval '30 seconds'
                                                    OR last_used_ip IS DISTINCT FROM \(clientIP)::inet)
                    """, logger: database.logger)
                // A key never carries more than its owner's current role grants.
                let granted = Set(user.role.permissions.compactMap(\.scope))
                return .success((user, scopes.filter(granted.contains)))
            }
            return .failure(.unknown)
        }
    }

    /// Revokes a key at once, and every token exchanged from it; `false` when there is no such live key.
    @discardableResult
    public func revoke(id: String, tenant: TenantID, actor: AuditEvent.Actor, requestID: String?) async throws -> Bool {
        guard SecretCredential.isID(id) else { return false }
        let region = self.region
        return try await database.withTenant(tenant) { connection in
            let rows = try await connection.query("UPDATE api_keys SET revoked_at = now() WHERE id = \(id) AND revoked_at IS NULL RETURNING name", logger: database.logger)
            var name: String?
            for try await label in rows.decode(String.self) { name = label }
            guard let name else { return false }
            try await connection.query("UPDATE tokens SET revoked_at = now() WHERE api_key_id = \(id) AND revoked_at IS NULL", logger: database.logger)
            try await AuditOutbox.append(AuditEvent(
                tenantID: tenant, region: region, actor: actor, action: "api_key.revoked",
                resource: .init(type: "api_key", id: id, label: name), requestID: requestID, source: actor.type == "operator" ? "system" : "api"
            ), on: connection, logger: database.logger)
            return true
        }
    }

    /// The tenant's keys, newest first, without secrets; revoked ones included.
    public func list(tenant: TenantID) async throws -> [Record] {
        try await database.withTenant(tenant) { connection in
            let rows = try await connection.query("""
                SELECT id, user_id, name, scopes, allowed_cidrs::text[], expires_at, created_at, last_used_at, host(last_used_ip), revoked_at
                FROM api_keys ORDER BY created_at DESC LIMIT 1000
                """, logger: database.logger)
            var records: [Record] = []
            for try await (id, user, name, scopes, cidrs, expires, created, used, usedIP, revoked)
                in rows.decode((String, UUID, String, [String], [String], Date?, Date, Date?, String?, Date?).self) {
                records.append(Record(id: id, userID: user, name: name, scopes: scopes, allowedCIDRs: cidrs, expiresAt: expires,
                                      createdAt: created, lastUsedAt: used, lastUsedIP: usedIP, revokedAt: revoked))
            }
            return records
        }
    }

    /// The user who owns live key `id`.
    public func owner(of id: String, tenant: TenantID) async throws -> UUID? {
        guard SecretCredential.isID(id) else { return nil }
        return try await database.withTenant(tenant) { connection in
            let rows = try await connection.query("SELECT user_id FROM api_keys WHERE id = \(id) AND revoked_at IS NULL", logger: database.logger)
            for try await owner in rows.decode(UUID.self) { return owner }
            return nil
        }
    }
}

/// IPv4 and IPv6 networks in CIDR notation, and single addresses.
enum CIDR {
    /// Whether `text` is one IPv4 or IPv6 address (as the gateway forwards a client's).
    static func isAddress(_ text: String) -> Bool {
        text.utf8.count <= 45 && isValid(text.contains(":") ? "\(text)/128" : "\(text)/32")
    }

    static func isValid(_ text: String) -> Bool {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let bits = Int(parts[1]) else { return false }
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, String(parts[0]), &v4) == 1 { return (0...32).contains(bits) }
        if inet_pton(AF_INET6, String(parts[0]), &v6) == 1 { return (0...128).contains(bits) }
        return false
    }
}
