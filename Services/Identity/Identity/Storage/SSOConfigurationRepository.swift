import Foundation
import Logging
import PostgresNIO
import Crypto
import RampartCore
import RampartSecurity
import RampartStorage
import RampartTransport

/// Each tenant's single sign-on configurations (one per audience), stored as JSON under row-level
/// security; every change is an audit event naming what changed.
public struct SSOConfigurationRepository: Sendable {
    public let database: Database
    public let region: Region
    /// Seals JWT SSO shared secrets with the tenant's data key.
    public let keyring: TenantKeyring

    public init(database: Database, region: Region, keyring: TenantKeyring) {
        self.database = database
        self.region = region
        self.keyring = keyring
    }

    /// The tenant's own single sign-on key pairs, in the same database and sealed with the same keyring.
    public var keys: SSOKeyRepository { SSOKeyRepository(database: database, region: region, keyring: keyring) }

    /// Shared secrets shorter than this are refused (HS256 keys of at least the hash size, RFC 7518 §3.2).
    static let minimumSecretBytes = 32

    public func load(tenant: TenantID, audience: SSOAudience) async throws -> SSOConfiguration? {
        try await database.withTenant(tenant) { connection in
            try await Self.load(tenant: tenant, audience: audience, on: connection, logger: database.logger)
        }
    }

    static func load(tenant: TenantID, audience: SSOAudience, on connection: PostgresConnection, logger: Logger) async throws -> SSOConfiguration? {
        let rows = try await connection.query("""
            SELECT configuration::text FROM sso_configurations WHERE tenant_id = \(tenant.rawValue) AND audience = \(audience.rawValue)
            """, logger: logger)
        for try await text in rows.decode(String.self) {
            return try JSONDecoder().decode(SSOConfiguration.self, from: Data(text.utf8))
        }
        return nil
    }

    /// Stores `configuration` (already free of problems) and records the change. An HS256
    /// configuration seals `sharedSecret`, an OpenID Connect one `clientSecret`; either keeps the
    /// stored secret when none is given.
    ///
    /// A new secret is checked and sealed first (the keyring may use a connection of its own). The
    /// stored configuration — the secret kept, the audit event's "before" — is read in the
    /// transaction that writes, under a lock per tenant and audience: a save that keeps the secret
    /// can never write back one that a concurrent save replaced meanwhile.
    /// `check` sees the configuration as stored (nil: none yet) under the lock, and may refuse
    /// the change (a stale version).
    @discardableResult
    public func save(_ configuration: SSOConfiguration, sharedSecret: String? = nil, clientSecret: String? = nil, tenant: TenantID,
                     actor: AuditEvent.Actor, requestID: String?, check: (SSOConfiguration?) throws -> Void = { _ in }) async throws -> SSOConfiguration {
        var configuration = configuration
        let usesSharedSecret = configuration.jwt?.algorithm == .hs256
        let usesClientSecret = configuration.oidc != nil && configuration.oidc?.clientAuthentication != .privateKeyJWT
        let newSharedSecret = usesSharedSecret
            ? try await seal(sharedSecret, field: "jwt.shared_secret", minimumBytes: Self.minimumSecretBytes, tenant: tenant,
                             context: Self.secretContext(configuration.audience))
            : nil
        let newClientSecret = usesClientSecret
            ? try await seal(clientSecret, field: "oidc.client_secret", minimumBytes: 1, tenant: tenant,
                             context: Self.clientSecretContext(configuration.audience))
            : nil
        let region = region
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            try await Self.lockForChange(tenant: tenant, audience: configuration.audience, on: connection, logger: logger)
            let before = try await Self.load(tenant: tenant, audience: configuration.audience, on: connection, logger: logger)
            try check(before)
            if usesSharedSecret {
                configuration.jwt?.sealedSecret = try Self.secret(
                    newSharedSecret, keeping: before?.jwt?.algorithm == .hs256 ? before?.jwt?.sealedSecret : nil, field: "jwt.shared_secret")
            }
            if configuration.oidc?.clientAuthentication == .privateKeyJWT {
                // The tenant's own key authenticates the client; no secret is kept.
                configuration.oidc?.sealedSecret = nil
            } else if usesClientSecret {
                configuration.oidc?.sealedSecret = try Self.secret(newClientSecret, keeping: before?.oidc?.sealedSecret, field: "oidc.client_secret")
            }
            let stored = configuration
            let text = String(decoding: try JSONEncoder.sorted.encode(stored), as: UTF8.self)
            try await connection.query("""
                INSERT INTO sso_configurations (tenant_id, audience, configuration)
                VALUES (\(tenant.rawValue), \(stored.audience.rawValue), \(text)::jsonb)
                ON CONFLICT (tenant_id, audience) DO UPDATE SET configuration = EXCLUDED.configuration, updated_at = now()
                """, logger: logger)
            try await AuditOutbox.append(AuditEvent(
                tenantID: tenant, region: region, actor: actor, action: "sso_configuration.updated",
                resource: .init(type: "sso_configuration", id: stored.audience.rawValue),
                changes: Self.changes(from: before, to: stored), requestID: requestID,
                source: actor.type == "operator" ? "system" : "api"
            ), on: connection, logger: logger)
            return stored
        }
    }

    /// The version of an audience's stored configuration (nil: none yet): a digest of all of it,
    /// sealed secrets included (a secret sent again is sealed anew: a new version).
    public static func version(of configuration: SSOConfiguration?) -> String {
        EntityTag.version(of: configuration)
    }

    /// Serializes changes of one tenant's configuration for one audience (for this transaction).
    static func lockForChange(tenant: TenantID, audience: SSOAudience, on connection: PostgresConnection, logger: Logger) async throws {
        let name = "sso_configurations:\(tenant.rawValue):\(audience.rawValue)"
        try await TransactionLock.take(name, on: connection, logger: logger)
    }

    /// `secret` checked and sealed with the tenant's data key, or `nil` when none is given.
    private func seal(_ secret: String?, field: String, minimumBytes: Int, tenant: TenantID, context: SealContext) async throws -> String? {
        guard let secret else { return nil }
        guard (minimumBytes...1024).contains(secret.utf8.count) else {
            throw SSOConfigurationProblems(fields: [field: "must be \(minimumBytes) to 1024 bytes"])
        }
        return try await keyring.seal(Data(secret.utf8), tenant: tenant, context: context).base64EncodedString()
    }

    /// The new sealed secret, else the one already stored; neither is a problem of `field`.
    private static func secret(_ new: String?, keeping kept: String?, field: String) throws -> String {
        guard let secret = new ?? kept else { throw SSOConfigurationProblems(fields: [field: "is required"]) }
        return secret
    }

    /// The HS256 secret of `audience`, opened with the tenant's data key.
    func sharedSecret(_ settings: JWTSSOSettings, tenant: TenantID, audience: SSOAudience) async throws -> SymmetricKey? {
        guard let sealed = settings.sealedSecret.flatMap({ Data(base64Encoded: $0) }) else { return nil }
        return SymmetricKey(data: try await keyring.open(sealed, tenant: tenant, context: Self.secretContext(audience)))
    }

    /// The OpenID Connect client secret of `audience`, opened with the tenant's data key.
    func clientSecret(_ settings: OIDCSettings, tenant: TenantID, audience: SSOAudience) async throws -> String? {
        guard let sealed = settings.sealedSecret.flatMap({ Data(base64Encoded: $0) }) else { return nil }
        return String(decoding: try await keyring.open(sealed, tenant: tenant, context: Self.clientSecretContext(audience)), as: UTF8.self)
    }

    static func secretContext(_ audience: SSOAudience) -> SealContext {
        SealContext(table: "sso_configurations", column: "jwt_shared_secret", rowID: audience.rawValue)
    }

    static func clientSecretContext(_ audience: SSOAudience) -> SealContext {
        SealContext(table: "sso_configurations", column: "oidc_client_secret", rowID: audience.rawValue)
    }

    /// Field → [before, after] for every top-level field that changed (certificates by SHA-256
    /// fingerprint); the configuration holds no secrets.
    static func changes(from before: SSOConfiguration?, to after: SSOConfiguration) -> [String: [String?]] {
        func fields(_ configuration: SSOConfiguration?) -> [String: String] {
            guard let configuration, let data = try? JSONEncoder.sorted.encode(configuration),
                  let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
            else { return [:] }
            var fields: [String: String] = [:]
            for (key, value) in object {
                let encoded = (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed])) ?? Data()
                fields[key] = String(decoding: encoded, as: UTF8.self)
            }
            // Certificates by fingerprint; the sealed secret only as "set" (it is re-sealed on every save).
            fields["saml"] = configuration.saml.map { saml in
                "\(saml.entityID) \(saml.ssoURL) sha1=\(saml.allowSHA1) idp_initiated=\(saml.allowIdPInitiated) "
                    + "require_encrypted=\(saml.requireEncryptedAssertions) sign_requests=\(saml.signAuthnRequests) certificates="
                    + saml.certificates.map(SAMLCertificate.fingerprint).joined(separator: ",")
            }
            fields["jwt"] = configuration.jwt.map { jwt in
                "\(jwt.issuer) \(jwt.audience) \(jwt.algorithm.rawValue) public_key=\(jwt.publicKeyPEM.map { SAMLCertificate.fingerprint(Data($0.utf8).base64EncodedString()) } ?? "none") secret=\(jwt.sealedSecret != nil ? "set" : "none")"
            }
            fields["oidc"] = configuration.oidc.map { oidc in
                "\(oidc.issuer) \(oidc.clientID) \(oidc.clientAuthentication.rawValue) scopes=\(oidc.scopes.joined(separator: ",")) "
                    + "prompt=\(oidc.prompt ?? "unset") max_age=\(oidc.maxAge.map(String.init) ?? "unset") userinfo=\(oidc.userInfo) logout=\(oidc.logout) "
                    + "claims=\(oidc.claims.email),\(oidc.claims.name),\(oidc.claims.groups) secret=\(oidc.sealedSecret != nil ? "set" : "none")"
            }
            return fields
        }
        let old = fields(before), new = fields(after)
        var changes: [String: [String?]] = [:]
        for key in Set(old.keys).union(new.keys) where old[key] != new[key] { changes[key] = [old[key], new[key]] }
        return changes
    }
}

extension JSONEncoder {
    /// Keys sorted, so equal values encode equally.
    static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return encoder
    }
}
