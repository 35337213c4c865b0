import Crypto
import CryptoExtras
import Foundation
import PostgresNIO
import RampartCore
import RampartSecurity
import RampartStorage
import X509

/// What one of a tenant's own single sign-on key pairs is for. Each use has its own keys, so a
/// decryption key never signs and a signing key never decrypts.
public enum SSOKeyUse: String, Codable, Sendable, CaseIterable {
    /// IdPs encrypt assertions to it (RSA-OAEP key transport).
    case samlEncryption = "saml_encryption"
    /// Signs AuthnRequests (HTTP-Redirect binding, RSA-SHA256).
    case samlSigning = "saml_signing"
    /// Signs `private_key_jwt` client assertions for OpenID Connect token requests (RS256).
    case oidcClient = "oidc_client"
}

/// One of a tenant's own key pairs: the certificate it publishes and the private key, opened from
/// its seal only for the operation at hand.
struct SSOKey: Sendable {
    let id: UUID
    /// Base64 DER of the self-signed certificate (SAML metadata, JWKS `x5c`).
    let certificate: String
    let privateKey: _RSA.Signing.PrivateKey

    /// How audit events and admins name the key: SHA-256 of the certificate.
    var fingerprint: String { SAMLCertificate.fingerprint(certificate) }
}

/// Each tenant's own single sign-on key pairs (RSA 3072, self-signed certificates), generated on
/// first use, private keys sealed with the tenant's data key (bound to table, column and key id).
/// Two may be active per use during a rollover: the newest signs, both decrypt, both are published.
public struct SSOKeyRepository: Sendable {
    public let database: Database
    public let region: Region
    public let keyring: TenantKeyring

    public init(database: Database, region: Region, keyring: TenantKeyring) {
        self.database = database
        self.region = region
        self.keyring = keyring
    }

    /// Keys kept per use: the current one and, during a rollover, its predecessor.
    static let keptPerUse = 2

    /// The active keys of `use`, newest first; the first is generated now if there is none.
    func active(_ use: SSOKeyUse, tenant: TenantID) async throws -> [SSOKey] {
        let found = try await existing(use, tenant: tenant)
        if !found.isEmpty { return found }
        return try await database.withTenant(tenant) { connection in
            // Two first requests at once must not both generate: the second waits and finds the first's key.
            try await lock(use, tenant: tenant, on: connection)
            let rows = try await rows(use, tenant: tenant, on: connection)
            if !rows.isEmpty { return try await open(rows, tenant: tenant) }
            return [try await insertNew(use, tenant: tenant, on: connection)]
        }
    }

    /// A new key becomes the current one; the previous stays active for the rollover, older ones are deleted. Audited.
    func rotate(_ use: SSOKeyUse, tenant: TenantID, actor: AuditEvent.Actor, requestID: String?) async throws -> [SSOKey] {
        try await change(use, tenant: tenant, actor: actor, requestID: requestID, action: "sso_key.rotated") { connection in
            _ = try await insertNew(use, tenant: tenant, on: connection)
            try await deleteAllButNewest(Self.keptPerUse, use, tenant: tenant, on: connection)
        }
    }

    /// Ends a rollover: only the newest key stays active. Audited.
    func retirePrevious(_ use: SSOKeyUse, tenant: TenantID, actor: AuditEvent.Actor, requestID: String?) async throws -> [SSOKey] {
        try await change(use, tenant: tenant, actor: actor, requestID: requestID, action: "sso_key.retired") { connection in
            try await deleteAllButNewest(1, use, tenant: tenant, on: connection)
        }
    }

    /// Runs `body` under the use's lock and records the certificates before and after (by fingerprint).
    private func change(_ use: SSOKeyUse, tenant: TenantID, actor: AuditEvent.Actor, requestID: String?, action: String,
                        _ body: @Sendable (PostgresConnection) async throws -> Void) async throws -> [SSOKey] {
        _ = try await active(use, tenant: tenant)
        let count = try await database.withTenant(tenant) { connection in
            try await lock(use, tenant: tenant, on: connection)
            let before = try await rows(use, tenant: tenant, on: connection).map { SAMLCertificate.fingerprint($0.certificate) }
            try await body(connection)
            let after = try await rows(use, tenant: tenant, on: connection).map { SAMLCertificate.fingerprint($0.certificate) }
            try await AuditOutbox.append(AuditEvent(
                tenantID: tenant, region: region, actor: actor, action: action, resource: .init(type: "sso_key", id: use.rawValue),
                changes: ["certificate_sha256": [before.joined(separator: ","), after.joined(separator: ",")]], requestID: requestID,
                source: actor.type == "operator" ? "system" : "api"
            ), on: connection, logger: database.logger)
            return after.count
        }
        database.logger.info("sso_key.changed", metadata: ["tenant.id": "\(tenant.rawValue)", "sso_key.use": "\(use.rawValue)",
                                                         "sso_key.count": "\(count)"])
        return try await existing(use, tenant: tenant)
    }

    private struct StoredKey {
        var id: UUID
        var certificate: String
        var sealed: Data
    }

    /// The active keys of `use`, newest first, without generating any.
    func existing(_ use: SSOKeyUse, tenant: TenantID) async throws -> [SSOKey] {
        let stored = try await database.withTenant(tenant) { connection in try await rows(use, tenant: tenant, on: connection) }
        return try await open(stored, tenant: tenant)
    }

    private func rows(_ use: SSOKeyUse, tenant: TenantID, on connection: PostgresConnection) async throws -> [StoredKey] {
        let rows = try await connection.query("""
            SELECT id, certificate, sealed_private_key FROM sso_keys
            WHERE tenant_id = \(tenant.rawValue) AND use = \(use.rawValue) ORDER BY created_at DESC, id LIMIT \(Self.keptPerUse)
            """, logger: database.logger)
        var keys: [StoredKey] = []
        for try await (id, certificate, sealed) in rows.decode((UUID, String, ByteBuffer).self) {
            keys.append(StoredKey(id: id, certificate: certificate, sealed: Data(buffer: sealed)))
        }
        return keys
    }

    private func open(_ stored: [StoredKey], tenant: TenantID) async throws -> [SSOKey] {
        var keys: [SSOKey] = []
        for key in stored {
            let der = try await keyring.open(key.sealed, tenant: tenant, context: Self.sealContext(key.id))
            keys.append(SSOKey(id: key.id, certificate: key.certificate, privateKey: try _RSA.Signing.PrivateKey(derRepresentation: der)))
        }
        return keys
    }

    private func insertNew(_ use: SSOKeyUse, tenant: TenantID, on connection: PostgresConnection) async throws -> SSOKey {
        let key = try Self.generate(use, tenant: tenant)
        let sealed = try await keyring.seal(key.privateKey.derRepresentation, tenant: tenant, context: Self.sealContext(key.id))
        try await connection.query("""
            INSERT INTO sso_keys (id, tenant_id, use, certificate, sealed_private_key)
            VALUES (\(key.id), \(tenant.rawValue), \(use.rawValue), \(key.certificate), \(ByteBuffer(data: sealed)))
            """, logger: database.logger)
        return key
    }

    private func deleteAllButNewest(_ kept: Int, _ use: SSOKeyUse, tenant: TenantID, on connection: PostgresConnection) async throws {
        try await connection.query("""
            DELETE FROM sso_keys WHERE tenant_id = \(tenant.rawValue) AND use = \(use.rawValue) AND id NOT IN (
                SELECT id FROM sso_keys WHERE tenant_id = \(tenant.rawValue) AND use = \(use.rawValue)
                ORDER BY created_at DESC, id LIMIT \(kept))
            """, logger: database.logger)
    }

    /// Serializes generation and rotation of one tenant's keys of one use (for this transaction).
    private func lock(_ use: SSOKeyUse, tenant: TenantID, on connection: PostgresConnection) async throws {
        let name = "sso_keys:\(tenant.rawValue):\(use.rawValue)"
        try await TransactionLock.take(name, on: connection, logger: database.logger)
    }

    static func sealContext(_ id: UUID) -> SealContext {
        SealContext(table: "sso_keys", column: "sealed_private_key", rowID: id.uuidString.lowercased())
    }

    /// A new RSA 3072 key pair with a self-signed certificate valid for ten years (IdPs pin it;
    /// a rotation, not its expiry, replaces it).
    static func generate(_ use: SSOKeyUse, tenant: TenantID, now: Date = .now) throws -> SSOKey {
        let privateKey = try _RSA.Signing.PrivateKey(keySize: .bits3072)
        let certificateKey = Certificate.PrivateKey(privateKey)
        let name = try DistinguishedName {
            OrganizationName("Rampart")
            CommonName("\(use.rawValue) \(tenant.rawValue)")
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: certificateKey.publicKey,
            notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(10 * 365 * 86400),
            issuer: name, subject: name, signatureAlgorithm: .sha256WithRSAEncryption, extensions: Certificate.Extensions(),
            issuerPrivateKey: certificateKey
        )
        let der = Data(try certificate.serializeAsPEM().derBytes)
        return SSOKey(id: UUID(), certificate: der.base64EncodedString(), privateKey: privateKey)
    }
}
