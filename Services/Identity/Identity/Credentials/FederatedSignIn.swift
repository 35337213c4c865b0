import Foundation
import Logging
import PostgresNIO
import RampartCore
import RampartStorage

/// Who an identity provider vouched for, whatever the protocol (SAML, JWT, OIDC).
public struct FederatedIdentity: Sendable, Equatable {
    /// `saml`, `jwt` or `oidc`: recorded in audit events.
    public var protocolName: String
    /// The IdP (SAML entity id, JWT or OIDC issuer).
    public var issuer: String
    public var subject: String
    public var email: String?
    public var name: String?
    public var groups: [String]
    /// The IdP says the user passed multi-factor authentication.
    public var multiFactor: Bool
}

/// How a federated sign-in ended: a session and where to send the browser, or the precise reason
/// it was refused (for the log and audit; the browser only sees a generic message).
public enum FederatedOutcome: Sendable {
    case signedIn(user: User, token: String, sessionID: UUID, expiresAt: Date, returnTo: String)
    case refused(reason: String)
}

/// A federated sign-in refused, with the precise reason for the log and the audit event.
struct FederatedRefusal: Error, Equatable {
    let reason: String
    /// A linked user to deactivate with the refusal (their groups no longer map to any role).
    var deactivating: UUID? = nil
}

/// Turns a verified federated identity into a session, exactly as password sign-in ends: the
/// account is found by (tenant, issuer, subject) — never by email — or provisioned just in time,
/// must be active, takes the role its current IdP groups map to (a changed mapping promotes or
/// demotes it, ending its other sessions like an admin's change; no role at all refuses and
/// deactivates it), must meet the tenant's second-factor rule, and gets a session and an
/// `auth.signed_in` audit event in the same transaction.
enum FederatedSignIn {
    /// Runs inside the caller's tenant transaction; throws `FederatedRefusal` to roll it back.
    static func start(
        _ identity: FederatedIdentity, tenant: Tenant, configuration: SSOConfiguration, region: Region,
        origin: PasswordSignIn.Origin, on connection: PostgresConnection, logger: Logger
    ) async throws -> (user: User, token: String, sessionID: UUID, expiresAt: Date) {
        let user = try await account(for: identity, tenant: tenant, configuration: configuration, region: region, origin: origin,
                                     on: connection, logger: logger)
        guard user.status == .active else { throw FederatedRefusal(reason: "user_not_active") }
        guard configuration.audience.includes(user.role) else { throw FederatedRefusal(reason: "role_not_in_audience") }
        let settings = try await SecuritySettings.load(tenant: tenant.id, on: connection, logger: logger)
        if settings.totpRequiredRoles.contains(user.role),
           !(identity.multiFactor && configuration.idpSecondFactorRoles.contains(user.role)) {
            throw FederatedRefusal(reason: "second_factor_not_asserted")
        }
        let session = try await SessionRepository.start(for: user, method: "sso", ip: origin.ip, userAgent: origin.userAgent,
                                                        settings: settings, on: connection, logger: logger)
        var event = PasswordSignIn.event(tenant, region, email: user.email.rawValue, user: user, origin: origin,
                                         action: "auth.signed_in", outcome: "success")
        event.actor.sessionID = session.id.uuidString.lowercased()
        event.actor.authenticationMethod = "sso"
        event.changes = ["protocol": [nil, identity.protocolName], "issuer": [nil, identity.issuer],
                         "idp_mfa": [nil, String(identity.multiFactor)]]
        try await AuditOutbox.append(event, on: connection, logger: logger)
        return (user, session.token, session.id, session.absoluteExpiry)
    }

    /// Puts a single-use token id (SAML assertion id, JWT `jti`) in the replay cache until it
    /// expires (plus the allowed skew); a second use throws `replayReason`.
    static func rememberOnce(
        _ tokenID: String, issuer: String, until expiry: Date, tenant: Tenant, replayReason: String,
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await connection.query("DELETE FROM sso_seen_tokens WHERE expires_at < now() - interval '5 minutes'", logger: logger)
        let rows = try await connection.query("""
            INSERT INTO sso_seen_tokens (tenant_id, issuer, token_id, expires_at)
            VALUES (\(tenant.id.rawValue), \(issuer), \(tokenID), \(expiry.addingTimeInterval(SAMLResponseValidator.allowedSkew)))
            ON CONFLICT DO NOTHING RETURNING 1
            """, logger: logger)
        var fresh = false
        for try await _ in rows.decode(Int.self) { fresh = true }
        guard fresh else { throw FederatedRefusal(reason: replayReason) }
    }

    /// Records a refusal in its own transaction (the attempt's own was rolled back), deactivating
    /// the user it names.
    static func recordRefusal(
        _ reason: String, protocolName: String, issuer: String?, subject: String?, tenant: Tenant, region: Region,
        origin: PasswordSignIn.Origin, database: Database, deactivating user: UUID? = nil
    ) async throws {
        database.logger.notice("sso.refused", metadata: ["reason": "\(reason)", "protocol": "\(protocolName)", "tenant.id": "\(tenant.id)"])
        try await database.withTenant(tenant.id) { connection in
            if let user {
                _ = try await UserRepository.deactivate(
                    id: user, tenant: tenant.id, region: region,
                    actor: systemActor(issuer: issuer, origin),
                    requestID: origin.requestID, source: "ui", on: connection, logger: database.logger)
            }
            var event = PasswordSignIn.event(tenant, region, email: subject.map { String($0.prefix(254)) } ?? "unknown", user: nil,
                                             origin: origin, action: "auth.sign_in_failed", outcome: "failure")
            event.actor.authenticationMethod = "sso"
            event.changes = ["protocol": [nil, protocolName], "reason": [nil, reason], "issuer": [nil, issuer.map { String($0.prefix(1024)) }]]
            try await AuditOutbox.append(event, on: connection, logger: database.logger)
        }
    }

    /// The linked user, or a new one when just-in-time provisioning is on.
    private static func account(
        for identity: FederatedIdentity, tenant: Tenant, configuration: SSOConfiguration, region: Region,
        origin: PasswordSignIn.Origin, on connection: PostgresConnection, logger: Logger
    ) async throws -> User {
        // The linked user with their row locked, so the status and role checked below are the ones
        // the session starts with: a deactivation or role change that commits meanwhile wins.
        let linked = try await connection.query("""
            SELECT u.id, u.tenant_id, u.email, u.name, u.role, u.status, u.created_at
            FROM federated_identities f JOIN users u ON u.id = f.user_id
            WHERE f.issuer = \(identity.issuer) AND f.subject = \(identity.subject)
            FOR NO KEY UPDATE OF u
            """, logger: logger)
        if var user = try await UserRepository.users(linked).first {
            try await connection.query("""
                UPDATE federated_identities SET last_sign_in_at = now() WHERE issuer = \(identity.issuer) AND subject = \(identity.subject)
                """, logger: logger)
            guard user.status == .active else { return user }
            guard let role = role(for: identity.groups, configuration: configuration) else {
                throw FederatedRefusal(reason: "no_role_for_groups", deactivating: user.id)
            }
            if role != user.role {
                try await UserRepository.changeRole(id: user.id, to: role, tenant: tenant.id, region: region, actor: systemActor(issuer: identity.issuer, origin),
                                                    requestID: origin.requestID, source: "ui", on: connection, logger: logger)
                user.role = role
            }
            return user
        }
        guard configuration.justInTimeProvisioning else { throw FederatedRefusal(reason: "not_provisioned") }
        guard let email = identity.email.flatMap(EmailAddress.init(rawValue:)) else { throw FederatedRefusal(reason: "email_missing_or_invalid") }
        guard let role = role(for: identity.groups, configuration: configuration) else { throw FederatedRefusal(reason: "no_role_for_groups") }
        let name = String((identity.name?.trimmingCharacters(in: .whitespacesAndNewlines)).flatMap { $0.isEmpty ? nil : $0 }?.prefix(200) ?? email.rawValue.prefix(200))
        let user = User(id: UUID(), tenantID: tenant.id, email: email, name: name, role: role, status: .active, createdAt: .now)
        // An account that already has this email is never taken over by an IdP's say-so.
        let inserted = try await connection.query("""
            INSERT INTO users (id, tenant_id, email, name, role, status, created_at)
            VALUES (\(user.id), \(tenant.id.rawValue), \(email.rawValue), \(name), \(role.rawValue), 'active', \(user.createdAt))
            ON CONFLICT (tenant_id, email) DO NOTHING RETURNING id
            """, logger: logger)
        var created = false
        for try await _ in inserted.decode(UUID.self) { created = true }
        guard created else { throw FederatedRefusal(reason: "email_belongs_to_unlinked_account") }
        try await connection.query("""
            INSERT INTO federated_identities (tenant_id, issuer, subject, user_id)
            VALUES (\(tenant.id.rawValue), \(identity.issuer), \(identity.subject), \(user.id))
            """, logger: logger)
        try await AuditOutbox.append(AuditEvent(
            tenantID: tenant.id, region: region,
            actor: systemActor(issuer: identity.issuer, origin),
            action: "user.created", resource: .init(type: "user", id: user.id.uuidString.lowercased(), label: email.rawValue),
            changes: ["role": [nil, role.rawValue], "provisioned_by": [nil, identity.protocolName]], requestID: origin.requestID, source: "ui"
        ), on: connection, logger: logger)
        return user
    }

    /// Who acts when a sign-in provisions, re-roles or deactivates a user: the IdP, through SSO.
    private static func systemActor(issuer: String?, _ origin: PasswordSignIn.Origin) -> AuditEvent.Actor {
        .init(type: "system", id: "sso", displayName: issuer.map { String($0.prefix(1024)) }, ip: origin.ip, authenticationMethod: "sso")
    }

    /// The most privileged role any of the user's groups maps to, else the default role.
    static func role(for groups: [String], configuration: SSOConfiguration) -> Role? {
        let mapped = Set(groups.compactMap { configuration.groupRoles[$0] })
        return Role.allCases.first { mapped.contains($0) } ?? configuration.defaultRole
    }
}
