import Crypto
import Foundation
import Logging
import PostgresNIO
import RampartCore
import RampartStorage

/// Registered OAuth clients: created by tenant admins or operators, authenticated at the token,
/// introspection and revocation endpoints, revoked at once with every token issued to them.
public struct OAuthClientRepository: Sendable {
    public let database: Database
    public let region: Region
    let hashKey: SymmetricKey

    public init(database: Database, region: Region, hashKey: SymmetricKey) {
        self.database = database
        self.region = region
        self.hashKey = hashKey
    }

    /// Registers a client. A confidential client's secret is returned once and stored only as a hash.
    public func create(
        tenant: TenantID, name: String, confidential: Bool, redirectURIs: [String], scopes: [String],
        actor: AuditEvent.Actor, requestID: String?
    ) async throws -> (OAuthClient, secret: String?) {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...100).contains(trimmed.count) else { throw IdentityError.invalidName }
        let unknown = scopes.filter { !Permission.scopes.contains($0) }
        guard unknown.isEmpty, !scopes.isEmpty else { throw IdentityError.invalidScopes(unknown) }
        guard (1...10).contains(redirectURIs.count) || (confidential && redirectURIs.isEmpty) else { throw IdentityError.invalidRedirectURI("") }
        for uri in redirectURIs where !OAuthClient.isValidRedirectURI(uri) { throw IdentityError.invalidRedirectURI(uri) }

        let secret = confidential ? SecretCredential.generate(.clientSecret) : nil
        let id = secret?.id ?? SecretCredential.newID()
        let client = OAuthClient(id: id, tenantID: tenant, name: trimmed, confidential: confidential, redirectURIs: redirectURIs,
                                 scopes: Array(Set(scopes)).sorted(), createdAt: .now, revokedAt: nil)
        let region = self.region
        try await database.withTenant(tenant) { connection in
            try await connection.query("""
                INSERT INTO oauth_clients (id, tenant_id, name, confidential, secret_hash, redirect_uris, scopes, created_at)
                VALUES (\(client.id), \(tenant.rawValue), \(client.name), \(confidential), \(secret?.secretHash(using: hashKey)),
                        \(client.redirectURIs), \(client.scopes), \(client.createdAt))
                """, logger: database.logger)
            try await AuditOutbox.append(AuditEvent(
                tenantID: tenant, region: region, actor: actor, action: "oauth_client.created",
                resource: .init(type: "oauth_client", id: client.id, label: client.name),
                changes: ["scopes": [nil, client.scopes.joined(separator: ",")], "confidential": [nil, String(confidential)]],
                requestID: requestID, source: actor.type == "operator" ? "system" : "api"
            ), on: connection, logger: database.logger)
        }
        return (client, secret?.presented)
    }

    /// The tenant's clients, newest first, revoked ones included.
    public func list(tenant: TenantID) async throws -> [OAuthClient] {
        try await database.withTenant(tenant) { connection in
            try await Self.clients(connection.query("""
                SELECT \(unescaped: Self.columns)
                FROM oauth_clients ORDER BY created_at DESC LIMIT 500
                """, logger: database.logger))
        }
    }

    /// The live client `id` of `tenant`, or `nil`.
    public func find(id: String, tenant: TenantID) async throws -> OAuthClient? {
        guard SecretCredential.isID(id) else { return nil }
        return try await database.withTenant(tenant) { connection in
            try await Self.clients(connection.query("""
                SELECT \(unescaped: Self.columns)
                FROM oauth_clients WHERE id = \(id) AND revoked_at IS NULL
                """, logger: database.logger)).first
        }
    }

    /// The client that presented `clientID` and, for a confidential client, `secret`; `nil` when
    /// unknown, revoked, or the secret is wrong or missing. A public client presents no secret.
    public func authenticate(clientID: String, secret: String?, tenant: TenantID) async throws -> OAuthClient? {
        guard SecretCredential.isID(clientID) else { return nil }
        let hashKey = self.hashKey
        return try await database.withTenant(tenant) { connection in
            let rows = try await connection.query("""
                SELECT \(unescaped: Self.columns), secret_hash
                FROM oauth_clients WHERE id = \(clientID) AND revoked_at IS NULL
                """, logger: database.logger)
            for try await (id, tenantID, name, confidential, uris, scopes, created, revoked, hash)
                in rows.decode((String, UUID, String, Bool, [String], [String], Date, Date?, Data?).self) {
                let client = OAuthClient(id: id, tenantID: TenantID(rawValue: tenantID), name: name, confidential: confidential,
                                         redirectURIs: uris, scopes: scopes, createdAt: created, revokedAt: revoked)
                guard confidential else { return secret == nil ? client : nil }
                guard let secret, let hash, let presented = SecretCredential(presented: secret, kind: .clientSecret),
                      presented.id == id, presented.matches(hash, using: hashKey)
                else { return nil }
                return client
            }
            return nil
        }
    }

    /// Gives confidential client `id` a new secret, returned once; the old one stops working at
    /// once. With `revokeTokens`, every token and unused code issued to the client is revoked
    /// too (a secret that leaked may have been used to get them). `nil` when the tenant has no
    /// such live client; a public client has no secret to rotate.
    public func rotateSecret(id: String, revokeTokens: Bool, tenant: TenantID, actor: AuditEvent.Actor, requestID: String?) async throws -> (OAuthClient, secret: String)? {
        guard SecretCredential.isID(id) else { return nil }
        let region = self.region
        let secret = SecretCredential.generate(.clientSecret, id: id)
        return try await database.withTenant(tenant) { connection in
            let current = try await Self.clients(connection.query("""
                SELECT \(unescaped: Self.columns)
                FROM oauth_clients WHERE id = \(id) AND revoked_at IS NULL FOR UPDATE
                """, logger: database.logger))
            guard let client = current.first else { return nil }
            guard client.confidential else { throw IdentityError.publicClientHasNoSecret }
            try await connection.query("UPDATE oauth_clients SET secret_hash = \(secret.secretHash(using: hashKey)) WHERE id = \(id)", logger: database.logger)
            if revokeTokens { try await revokeIssued(clientID: id, on: connection) }
            try await AuditOutbox.append(AuditEvent(
                tenantID: tenant, region: region, actor: actor, action: "oauth_client.secret_rotated",
                resource: .init(type: "oauth_client", id: id, label: client.name), changes: ["tokens_revoked": [nil, String(revokeTokens)]],
                requestID: requestID, source: actor.type == "operator" ? "system" : "api"
            ), on: connection, logger: database.logger)
            return (client, secret.presented)
        }
    }

    /// Revokes a client and every token and code issued to it.
    public func revoke(id: String, tenant: TenantID, actor: AuditEvent.Actor, requestID: String?) async throws -> Bool {
        guard SecretCredential.isID(id) else { return false }
        let region = self.region
        return try await database.withTenant(tenant) { connection in
            let rows = try await connection.query("""
                UPDATE oauth_clients SET revoked_at = now() WHERE id = \(id) AND revoked_at IS NULL RETURNING name
                """, logger: database.logger)
            var name: String?
            for try await label in rows.decode(String.self) { name = label }
            guard let name else { return false }
            try await revokeIssued(clientID: id, on: connection)
            try await AuditOutbox.append(AuditEvent(
                tenantID: tenant, region: region, actor: actor, action: "oauth_client.revoked",
                resource: .init(type: "oauth_client", id: id, label: name), requestID: requestID, source: "api"
            ), on: connection, logger: database.logger)
            return true
        }
    }

    /// Revokes every token and unused authorization code issued to client `id`.
    private func revokeIssued(clientID id: String, on connection: PostgresConnection) async throws {
        try await connection.query("UPDATE tokens SET revoked_at = now() WHERE client_id = \(id) AND revoked_at IS NULL", logger: database.logger)
        try await connection.query("UPDATE authorization_codes SET used_at = now() WHERE client_id = \(id) AND used_at IS NULL", logger: database.logger)
    }

    /// What ``clients(_:)`` reads, in its order.
    static let columns = "id, tenant_id, name, confidential, redirect_uris, scopes, created_at, revoked_at"

    static func clients(_ rows: PostgresRowSequence) async throws -> [OAuthClient] {
        var clients: [OAuthClient] = []
        for try await (id, tenantID, name, confidential, uris, scopes, created, revoked)
            in rows.decode((String, UUID, String, Bool, [String], [String], Date, Date?).self) {
            clients.append(OAuthClient(id: id, tenantID: TenantID(rawValue: tenantID), name: name, confidential: confidential,
                                       redirectURIs: uris, scopes: scopes, createdAt: created, revokedAt: revoked))
        }
        return clients
    }
}
