import Crypto
import Foundation
import Logging
import PostgresNIO
import RampartCore
import RampartStorage

/// The OAuth 2.0 grants: authorization codes with PKCE, refresh-token rotation with reuse
/// detection, and client credentials. Every refusal that could help an attacker is one
/// `invalid_grant`; replays revoke what the replayed grant produced.
public struct OAuthGrants: Sendable {
    public let database: Database
    public let region: Region
    let hashKey: SymmetricKey
    /// How long a rotated refresh token may still be presented (see `TokenRepository.refreshGrace`).
    let refreshGrace: TimeInterval

    /// Codes are redeemed within two minutes or never.
    public static let codeLifetime: TimeInterval = 120

    public init(database: Database, region: Region, hashKey: SymmetricKey, refreshGrace: TimeInterval = TokenRepository.refreshGrace) {
        self.database = database
        self.region = region
        self.hashKey = hashKey
        self.refreshGrace = refreshGrace
    }

    /// What the user approved on the consent page.
    public struct Approval: Sendable {
        public var client: OAuthClient
        public var user: User
        public var redirectURI: String
        public var scopes: [String]
        public var codeChallenge: String?
        public var authenticationMethod: String
    }

    /// Issues a single-use code for an approval; the caller has checked client, redirect URI,
    /// scopes and PKCE parameters.
    public func issueCode(_ approval: Approval, requestID: String?) async throws -> String {
        let code = SecretCredential.generate(.authorizationCode)
        let hashKey = self.hashKey
        let region = self.region
        try await database.withTenant(approval.user.tenantID) { connection in
            try await connection.query("""
                INSERT INTO authorization_codes (id, tenant_id, client_id, user_id, secret_hash, redirect_uri, scopes, code_challenge,
                                                 authentication_method, family_id, expires_at)
                VALUES (\(code.id), \(approval.user.tenantID.rawValue), \(approval.client.id), \(approval.user.id), \(code.secretHash(using: hashKey)),
                        \(approval.redirectURI), \(approval.scopes.sorted()), \(approval.codeChallenge), \(approval.authenticationMethod),
                        \(UUID()), \(Date.now.addingTimeInterval(Self.codeLifetime)))
                """, logger: database.logger)
            try await AuditOutbox.append(AuditEvent(
                tenantID: approval.user.tenantID, region: region,
                actor: .init(type: approval.user.role.actorType, id: approval.user.id.uuidString.lowercased(), displayName: approval.user.email.rawValue,
                             authenticationMethod: approval.authenticationMethod),
                action: "oauth.consent_granted", resource: .init(type: "oauth_client", id: approval.client.id, label: approval.client.name),
                changes: ["scopes": [nil, approval.scopes.sorted().joined(separator: " ")]], requestID: requestID, source: "ui"
            ), on: connection, logger: database.logger)
        }
        return code.presented
    }

    /// Redeems a code for `client` (RFC 6749 §4.1.3 with RFC 7636). A second redemption of the
    /// same code revokes every token the first one produced.
    public func redeem(code presented: String, client: OAuthClient, redirectURI: String?, verifier: String?) async throws -> Result<TokenRepository.Issued, OAuthError> {
        guard let code = SecretCredential(presented: presented, kind: .authorizationCode) else { return .failure(.invalidGrant) }
        let hashKey = self.hashKey
        let region = self.region
        return try await database.withTenant(client.tenantID) { connection in
            let rows = try await connection.query("""
                SELECT secret_hash, client_id, user_id, redirect_uri, scopes, code_challenge, authentication_method, family_id,
                       expires_at > now(), used_at IS NOT NULL
                FROM authorization_codes WHERE id = \(code.id) FOR UPDATE
                """, logger: database.logger)
            var found: (Data, String, UUID, String, [String], String?, String, UUID, Bool, Bool)?
            for try await row in rows.decode((Data, String, UUID, String, [String], String?, String, UUID, Bool, Bool).self) { found = row }
            guard let (hash, clientID, userID, boundURI, scopes, challenge, method, family, fresh, used) = found,
                  code.matches(hash, using: hashKey)
            else { return .failure(.invalidGrant) }
            if used {
                try await TokenRepository.revokeFamily(family, on: connection, logger: database.logger)
                try await AuditOutbox.append(Self.event(client, region: region, action: "oauth.code_replayed", outcome: "failure"), on: connection, logger: database.logger)
                return .failure(.invalidGrant)
            }
            try await connection.query("UPDATE authorization_codes SET used_at = now() WHERE id = \(code.id)", logger: database.logger)
            guard fresh, clientID == client.id, redirectURI == boundURI else { return .failure(.invalidGrant) }
            switch (challenge, verifier) {
            case (let challenge?, let verifier?) where PKCE.verify(verifier, challenge: challenge): break
            case (nil, nil): break
            default: return .failure(OAuthError(.invalidGrant, "The code verifier does not match the code challenge."))
            }
            let grant = TokenRepository.Grant(tenantID: client.tenantID, userID: userID, clientID: client.id, apiKeyID: nil,
                                              authenticationMethod: method, scopes: scopes, familyID: family)
            do {
                return .success(try await TokenRepository.issue(grant, lifetime: TokenRepository.maximumAccessLifetime, refresh: true,
                                                                hashKey: hashKey, on: connection, logger: database.logger))
            } catch is TokenRepository.OwnerGone {
                return .failure(.invalidGrant)
            }
        }
    }

    /// Rotates a refresh token (RFC 6749 §6): the presented one is spent and a new pair issued
    /// in the same family, optionally with fewer scopes. A spent token presented again after
    /// the grace window revokes the whole family.
    public func refresh(token presented: String, client: OAuthClient, scopes requested: [String]?) async throws -> Result<TokenRepository.Issued, OAuthError> {
        guard let token = SecretCredential(presented: presented, kind: .refreshToken) else { return .failure(.invalidGrant) }
        let hashKey = self.hashKey
        let region = self.region
        let grace = refreshGrace
        return try await database.withTenant(client.tenantID) { connection in
            // The token's user first, then the token: the order a deactivation or role change
            // takes them in (the user, then their tokens), so the two cannot deadlock.
            let owner = try await connection.query("SELECT user_id FROM tokens WHERE id = \(token.id) AND kind = 'refresh'", logger: database.logger)
            for try await user in owner.decode(UUID?.self) {
                if let user { try await connection.query("SELECT 1 FROM users WHERE id = \(user) FOR SHARE", logger: database.logger) }
            }
            let rows = try await connection.query("""
                SELECT t.secret_hash, t.client_id, t.user_id, t.scopes, t.authentication_method, t.family_id,
                       t.revoked_at IS NULL AND t.expires_at > now(), t.rotated_at IS NOT NULL,
                       t.rotated_at > now() - make_interval(secs => \(grace)),
                       u.status = 'active'
                FROM tokens t LEFT JOIN users u ON u.id = t.user_id
                WHERE t.id = \(token.id) AND t.kind = 'refresh' FOR UPDATE OF t
                """, logger: database.logger)
            var found: (Data, String?, UUID?, [String], String, UUID, Bool, Bool, Bool?, Bool?)?
            for try await row in rows.decode((Data, String?, UUID?, [String], String, UUID, Bool, Bool, Bool?, Bool?).self) { found = row }
            guard let (hash, clientID, userID, scopes, method, family, live, rotated, withinGrace, userActive) = found,
                  token.matches(hash, using: hashKey), clientID == client.id
            else { return .failure(.invalidGrant) }
            guard live else { return .failure(.invalidGrant) }
            if rotated, withinGrace != true {
                try await TokenRepository.revokeFamily(family, on: connection, logger: database.logger)
                try await AuditOutbox.append(Self.event(client, region: region, action: "oauth.refresh_token_reused", outcome: "failure"), on: connection, logger: database.logger)
                return .failure(.invalidGrant)
            }
            guard userID == nil || userActive == true else { return .failure(.invalidGrant) }
            var granted = scopes.filter { client.scopes.contains($0) }
            if let requested {
                guard Set(requested).isSubset(of: Set(granted)) else {
                    return .failure(OAuthError(.invalidScope, "A refresh may only narrow the scopes originally granted."))
                }
                granted = requested
            }
            if !rotated {
                try await connection.query("UPDATE tokens SET rotated_at = now() WHERE id = \(token.id)", logger: database.logger)
            }
            let grant = TokenRepository.Grant(tenantID: client.tenantID, userID: userID, clientID: client.id, apiKeyID: nil,
                                              authenticationMethod: method, scopes: granted, familyID: family)
            do {
                return .success(try await TokenRepository.issue(grant, lifetime: TokenRepository.maximumAccessLifetime, refresh: true,
                                                                hashKey: hashKey, on: connection, logger: database.logger))
            } catch is TokenRepository.OwnerGone {
                return .failure(.invalidGrant)
            }
        }
    }

    /// Client credentials (RFC 6749 §4.4): a confidential client acting for itself, no refresh token.
    public func clientCredentials(client: OAuthClient, scopes requested: [String]?) async throws -> Result<TokenRepository.Issued, OAuthError> {
        guard client.confidential else { return .failure(OAuthError(.unauthorizedClient, "Public clients cannot use client credentials.")) }
        let scopes = requested ?? client.scopes
        guard !scopes.isEmpty, Set(scopes).isSubset(of: Set(client.scopes)) else {
            return .failure(OAuthError(.invalidScope, "Ask only for scopes registered for this client."))
        }
        let grant = TokenRepository.Grant(tenantID: client.tenantID, userID: nil, clientID: client.id, apiKeyID: nil,
                                          authenticationMethod: "oauth", scopes: scopes)
        let hashKey = self.hashKey
        return .success(try await database.withTenant(client.tenantID) { connection in
            try await TokenRepository.issue(grant, lifetime: TokenRepository.maximumAccessLifetime, refresh: false,
                                            hashKey: hashKey, on: connection, logger: database.logger)
        })
    }

    static func event(_ client: OAuthClient, region: Region, action: String, outcome: String) -> AuditEvent {
        AuditEvent(tenantID: client.tenantID, region: region, actor: .init(type: "oauth_client", id: client.id, displayName: client.name),
                   action: action, resource: .init(type: "oauth_client", id: client.id, label: client.name), outcome: outcome, source: "api")
    }
}
