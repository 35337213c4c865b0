import Foundation
import Logging
import PostgresNIO
import Crypto
import RampartCore
import RampartSecurity
import RampartStorage

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
    /// configuration seals `sharedSecret`, or keeps the stored secret when none is given.
    @discardableResult
    public func save(_ configuration: SSOConfiguration, sharedSecret: String? = nil, tenant: TenantID, actor: AuditEvent.Actor,
                     requestID: String?) async throws -> SSOConfiguration {
        var configuration = configuration
        let before = try await load(tenant: tenant, audience: configuration.audience)
        if configuration.jwt?.algorithm == .hs256 {
            if let sharedSecret {
                guard sharedSecret.utf8.count >= Self.minimumSecretBytes, sharedSecret.utf8.count <= 1024 else {
                    throw SSOConfigurationProblems(fields: ["jwt.shared_secret": "must be 32 to 1024 bytes"])
                }
                let sealed = try await keyring.seal(Data(sharedSecret.utf8), tenant: tenant, context: Self.secretContext(configuration.audience))
                configuration.jwt?.sealedSecret = sealed.base64EncodedString()
            } else if before?.jwt?.algorithm == .hs256, let kept = before?.jwt?.sealedSecret {
                configuration.jwt?.sealedSecret = kept
            } else {
                throw SSOConfigurationProblems(fields: ["jwt.shared_secret": "is required for HS256"])
            }
        }
        let stored = configuration
        let text = String(decoding: try JSONEncoder.sorted.encode(stored), as: UTF8.self)
        try await database.withTenant(tenant) { connection in
            try await connection.query("""
                INSERT INTO sso_configurations (tenant_id, audience, configuration)
                VALUES (\(tenant.rawValue), \(stored.audience.rawValue), \(text)::jsonb)
                ON CONFLICT (tenant_id, audience) DO UPDATE SET configuration = EXCLUDED.configuration, updated_at = now()
                """, logger: database.logger)
            try await AuditOutbox.append(AuditEvent(
                tenantID: tenant, region: region, actor: actor, action: "sso_configuration.updated",
                resource: .init(type: "sso_configuration", id: stored.audience.rawValue),
                changes: Self.changes(from: before, to: stored), requestID: requestID,
                source: actor.type == "operator" ? "system" : "api"
            ), on: connection, logger: database.logger)
        }
        return stored
    }

    /// The HS256 secret of `audience`, opened with the tenant's data key.
    func sharedSecret(_ settings: JWTSSOSettings, tenant: TenantID, audience: SSOAudience) async throws -> SymmetricKey? {
        guard let sealed = settings.sealedSecret.flatMap({ Data(base64Encoded: $0) }) else { return nil }
        return SymmetricKey(data: try await keyring.open(sealed, tenant: tenant, context: Self.secretContext(audience)))
    }

    static func secretContext(_ audience: SSOAudience) -> SealContext {
        SealContext(table: "sso_configurations", column: "jwt_shared_secret", rowID: audience.rawValue)
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
                "\(saml.entityID) \(saml.ssoURL) sha1=\(saml.allowSHA1) idp_initiated=\(saml.allowIdPInitiated) certificates="
                    + saml.certificates.map(SAMLCertificate.fingerprint).joined(separator: ",")
            }
            fields["jwt"] = configuration.jwt.map { jwt in
                "\(jwt.issuer) \(jwt.audience) \(jwt.algorithm.rawValue) public_key=\(jwt.publicKeyPEM.map { SAMLCertificate.fingerprint(Data($0.utf8).base64EncodedString()) } ?? "none") secret=\(jwt.sealedSecret != nil ? "set" : "none")"
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
