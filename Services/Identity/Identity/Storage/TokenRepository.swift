import Crypto
import Foundation
import Logging
import PostgresNIO
import RampartCore
import RampartStorage

/// Opaque access and refresh tokens: issued by the OAuth grants and by the short-lived token
/// exchange, stored as keyed hashes, checked on every use against their user, client and API key.
public struct TokenRepository: Sendable {
    public let database: Database
    public let region: Region
    let hashKey: SymmetricKey

    /// Access tokens live at most an hour.
    public static let maximumAccessLifetime: TimeInterval = 3600
    /// Refresh tokens live thirty days unless rotated or revoked first.
    public static let refreshLifetime: TimeInterval = 30 * 86400
    /// A rotated refresh token presented again within this window (a client refreshing from two
    /// tabs at once) gets a fresh pair; after it, the reuse revokes the whole family.
    public static let refreshGrace: TimeInterval = 10

    public init(database: Database, region: Region, hashKey: SymmetricKey) {
        self.database = database
        self.region = region
        self.hashKey = hashKey
    }

    /// What a token is issued for.
    public struct Grant: Sendable, Equatable {
        public var tenantID: TenantID
        public var userID: UUID?
        public var clientID: String?
        public var apiKeyID: String?
        public var authenticationMethod: String
        public var scopes: [String]
        public var familyID: UUID = UUID()
    }

    /// Tokens as the token endpoint returns them.
    public struct Issued: Sendable, Equatable {
        public var accessToken: String
        public var expiresIn: Int
        public var refreshToken: String?
        public var scopes: [String]
    }

    /// The grant's user is no longer active, or its API key no longer live (perhaps since a
    /// moment ago): no tokens are issued.
    public struct OwnerGone: Error {}

    /// Inserts an access token (and a refresh token when `refresh`) for `grant`. The grant's user
    /// and API key are held until the tokens are stored, so a deactivation or key revocation
    /// (each revokes every token) cannot commit between the check and the insert and miss them.
    static func issue(_ grant: Grant, lifetime: TimeInterval, refresh: Bool, hashKey: SymmetricKey,
                      on connection: PostgresConnection, logger: Logger) async throws -> Issued {
        if let user = grant.userID {
            let held = try await connection.query("SELECT 1 FROM users WHERE id = \(user) AND status = 'active' FOR SHARE", logger: logger)
            guard try await held.any() else { throw OwnerGone() }
        }
        if let key = grant.apiKeyID {
            let held = try await connection.query("""
                SELECT 1 FROM api_keys WHERE id = \(key) AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now()) FOR SHARE
                """, logger: logger)
            guard try await held.any() else { throw OwnerGone() }
        }
        let lifetime = min(max(lifetime, 60), maximumAccessLifetime)
        let access = SecretCredential.generate(.accessToken)
        try await insert(access, kind: "access", grant, expiresAt: .now.addingTimeInterval(lifetime), hashKey: hashKey, on: connection, logger: logger)
        var refreshToken: SecretCredential?
        if refresh {
            let token = SecretCredential.generate(.refreshToken)
            try await insert(token, kind: "refresh", grant, expiresAt: .now.addingTimeInterval(refreshLifetime), hashKey: hashKey, on: connection, logger: logger)
            refreshToken = token
        }
        return Issued(accessToken: access.presented, expiresIn: Int(lifetime), refreshToken: refreshToken?.presented, scopes: grant.scopes.sorted())
    }

    private static func insert(_ token: SecretCredential, kind: String, _ grant: Grant, expiresAt: Date, hashKey: SymmetricKey,
                               on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("""
            INSERT INTO tokens (id, tenant_id, kind, secret_hash, family_id, client_id, user_id, api_key_id, authentication_method, scopes, expires_at)
            VALUES (\(token.id), \(grant.tenantID.rawValue), \(kind), \(token.secretHash(using: hashKey)), \(grant.familyID), \(grant.clientID),
                    \(grant.userID), \(grant.apiKeyID), \(grant.authenticationMethod), \(grant.scopes.sorted()), \(expiresAt))
            """, logger: logger)
    }

    /// Issues tokens for `grant` in their own transaction.
    public func issue(_ grant: Grant, lifetime: TimeInterval = maximumAccessLifetime, refresh: Bool) async throws -> Issued {
        let hashKey = self.hashKey
        return try await database.withTenant(grant.tenantID) { connection in
            try await Self.issue(grant, lifetime: lifetime, refresh: refresh, hashKey: hashKey, on: connection, logger: database.logger)
        }
    }

    /// A live access token as the principal resolver and introspection see it.
    public struct Resolved: Sendable {
        public var id: String
        public var user: User?
        public var clientID: String?
        public var apiKeyID: String?
        public var authenticationMethod: String
        /// The token's scopes narrowed by what its user's role, client and API key still grant.
        public var scopes: [String]
        public var issuedAt: Date
        public var expiresAt: Date
        public var kind: SecretCredential.Kind
    }

    /// The live token for `credential` in `tenant`, or `nil` when unknown, forged, expired,
    /// revoked, or its user, client or API key is no longer live (or the key's address fence
    /// excludes `clientIP`). Refresh tokens resolve only for introspection.
    public func resolve(_ credential: SecretCredential, tenant: TenantID, clientIP: String?) async throws -> Resolved? {
        guard credential.kind == .accessToken || credential.kind == .refreshToken else { return nil }
        let hashKey = self.hashKey
        return try await database.withTenant(tenant) { connection in
            let rows = try await connection.query("""
                SELECT t.secret_hash, t.kind, t.scopes, t.authentication_method, t.issued_at, t.expires_at,
                       t.revoked_at IS NULL AND t.expires_at > now() AND (t.kind = 'access' OR t.rotated_at IS NULL),
                       t.client_id, c.scopes, c.id IS NULL OR c.revoked_at IS NULL,
                       t.api_key_id, k.scopes,
                       k.id IS NULL OR (k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())
                           AND (cardinality(k.allowed_cidrs) = 0 OR EXISTS (SELECT 1 FROM unnest(k.allowed_cidrs) a WHERE \(clientIP)::inet <<= a))),
                       u.id, u.tenant_id, u.email, u.name, u.role, u.status, u.created_at
                FROM tokens t
                LEFT JOIN oauth_clients c ON c.id = t.client_id
                LEFT JOIN api_keys k ON k.id = t.api_key_id
                LEFT JOIN users u ON u.id = t.user_id
                WHERE t.id = \(credential.id)
                """, logger: database.logger)
            for try await (hash, kind, scopes, method, issued, expires, live, clientID, clientScopes, clientLive, keyID, keyScopes, keyLive,
                           userID, userTenant, email, name, role, status, created)
                in rows.decode((Data, String, [String], String, Date, Date, Bool, String?, [String]?, Bool, String?, [String]?, Bool?,
                                UUID?, UUID?, String?, String?, String?, String?, Date?).self) {
                guard credential.matches(hash, using: hashKey), kind == (credential.kind == .accessToken ? "access" : "refresh"),
                      live, clientLive, keyLive != false
                else { return nil }
                var granted = Set(scopes)
                var user: User?
                if let userID, let userTenant, let email, let name, let role, let status, let created {
                    guard let found = User(id: userID, tenantID: userTenant, email: email, name: name, role: role, status: status, createdAt: created),
                          found.status == .active
                    else { return nil }
                    user = found
                    granted.formIntersection(found.role.permissions.compactMap(\.scope))
                }
                if let clientScopes { granted.formIntersection(clientScopes) }
                if let keyScopes { granted.formIntersection(keyScopes) }
                return Resolved(id: credential.id, user: user, clientID: clientID, apiKeyID: keyID, authenticationMethod: method,
                                scopes: granted.sorted(), issuedAt: issued, expiresAt: expires, kind: credential.kind)
            }
            return nil
        }
    }

    /// Revokes `credential` if it was issued to `clientID` (RFC 7009); revoking a refresh token
    /// revokes its whole family. Unknown tokens are ignored, as the RFC asks.
    public func revoke(_ credential: SecretCredential, clientID: String, tenant: TenantID) async throws {
        let hashKey = self.hashKey
        try await database.withTenant(tenant) { connection in
            let rows = try await connection.query("""
                SELECT secret_hash, kind, family_id FROM tokens WHERE id = \(credential.id) AND client_id = \(clientID)
                """, logger: database.logger)
            for try await (hash, kind, family) in rows.decode((Data, String, UUID).self) where credential.matches(hash, using: hashKey) {
                if kind == "refresh" {
                    try await Self.revokeFamily(family, on: connection, logger: database.logger)
                } else {
                    try await connection.query("UPDATE tokens SET revoked_at = now() WHERE id = \(credential.id) AND revoked_at IS NULL", logger: database.logger)
                }
            }
        }
    }

    /// Revokes every token of a family (one grant and its refreshes), inside the caller's transaction.
    static func revokeFamily(_ family: UUID, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("UPDATE tokens SET revoked_at = now() WHERE family_id = \(family) AND revoked_at IS NULL", logger: logger)
    }

    /// Revokes every token of `user` (deactivation, role change), inside the caller's transaction.
    static func revokeAll(user: UUID, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("UPDATE tokens SET revoked_at = now() WHERE user_id = \(user) AND revoked_at IS NULL", logger: logger)
    }
}
