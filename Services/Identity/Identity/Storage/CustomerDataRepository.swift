import Foundation
import PostgresNIO
import RampartCore
import RampartStorage
import RampartTransport

/// Identity's part of a data-subject request: a customer's account, sessions (with their IPs and
/// user agents) and federated links, for their copy or their erasure. Data-subject requests cover
/// customers; a staff account is refused (the tenant's admins manage staff accounts).
struct CustomerDataRepository: PersonalDataHolder {
    let database: Database

    struct Account: Encodable, Sendable {
        var id: UUID
        var email: String
        var name: String
        var role: String
        var status: String
        var createdAt: Date
        var passwordChangedAt: Date?
        var twoFactor: Bool

        enum CodingKeys: String, CodingKey {
            case id, email, name, role, status
            case createdAt = "created_at"
            case passwordChangedAt = "password_changed_at"
            case twoFactor = "two_factor"
        }
    }

    struct Session: Encodable, Sendable {
        var createdAt: Date
        var lastSeenAt: Date
        var authenticationMethod: String
        var ip: String?
        var userAgent: String?

        enum CodingKeys: String, CodingKey {
            case ip
            case createdAt = "created_at"
            case lastSeenAt = "last_seen_at"
            case authenticationMethod = "authentication_method"
            case userAgent = "user_agent"
        }
    }

    struct FederatedIdentity: Encodable, Sendable {
        var issuer: String
        var subject: String
        var createdAt: Date

        enum CodingKeys: String, CodingKey {
            case issuer, subject
            case createdAt = "created_at"
        }
    }

    struct Export: Encodable, Sendable {
        var users: [Account]
        var sessions: [Session]
        var federatedIdentities: [FederatedIdentity]

        enum CodingKeys: String, CodingKey {
            case users, sessions
            case federatedIdentities = "federated_identities"
        }
    }

    func find(_ subject: DataSubject, tenant: TenantID) async throws -> DataSubject {
        let accounts = try await accounts(subject, tenant: tenant)
        return DataSubject(ids: Set(accounts.map(\.id)), emails: Set(accounts.map(\.email)))
    }

    func export(_ subject: DataSubject, tenant: TenantID) async throws -> Export {
        let accounts = try await accounts(subject, tenant: tenant)
        let ids = accounts.map(\.id)
        return try await database.withTenant(tenant) { connection in
            var sessions: [Session] = []
            let sessionRows = try await connection.query("""
                SELECT created_at, last_seen_at, authentication_method, host(ip), user_agent FROM sessions
                WHERE user_id = ANY(\(ids)) ORDER BY created_at
                """, logger: database.logger)
            for try await (created, seen, method, ip, agent) in sessionRows.decode((Date, Date, String, String?, String?).self) {
                sessions.append(Session(createdAt: created, lastSeenAt: seen, authenticationMethod: method, ip: ip, userAgent: agent))
            }
            var federated: [FederatedIdentity] = []
            let federatedRows = try await connection.query("""
                SELECT issuer, subject, created_at FROM federated_identities WHERE user_id = ANY(\(ids)) ORDER BY created_at
                """, logger: database.logger)
            for try await (issuer, subjectID, created) in federatedRows.decode((String, String, Date).self) {
                federated.append(FederatedIdentity(issuer: issuer, subject: subjectID, createdAt: created))
            }
            return Export(users: accounts, sessions: sessions, federatedIdentities: federated)
        }
    }

    func erase(_ subject: DataSubject, tenant: TenantID) async throws -> DataSubjectErasure {
        // The accounts are locked and checked in the erasure's own transaction: a promotion to
        // staff that commits first is refused here, and one that comes later waits and finds the
        // customer already erased. Checked apart, a customer promoted in between lost their new
        // staff account's sessions, keys and second factor.
        let erased = try await PersonErasure.run(subject, tenant: tenant, database: database) { connection in
            _ = try await accounts(subject, on: connection, locked: true)
        }
        return DataSubjectErasure(service: ServiceName.identity.rawValue, erased: erased)
    }

    private func accounts(_ subject: DataSubject, tenant: TenantID) async throws -> [Account] {
        try await database.withTenant(tenant) { connection in try await accounts(subject, on: connection, locked: false) }
    }

    /// The accounts `subject` names (by id or address), `locked` against any change until the
    /// transaction ends; a staff account is refused.
    private func accounts(_ subject: DataSubject, on connection: PostgresConnection, locked: Bool) async throws -> [Account] {
        let ids = Array(subject.ids)
        let emails = subject.emails.sorted()
        var accounts: [Account] = []
        let rows = try await connection.query("""
            SELECT u.id, u.email, u.name, u.role, u.status, u.created_at, u.password_changed_at,
                   EXISTS (SELECT 1 FROM totp_credentials t WHERE t.user_id = u.id AND t.confirmed_at IS NOT NULL)
            FROM users u WHERE u.id = ANY(\(ids)) OR lower(u.email) = ANY(\(emails)) ORDER BY u.created_at, u.id
            \(unescaped: locked ? "FOR UPDATE OF u" : "")
            """, logger: database.logger)
        for try await (id, email, name, role, status, created, changed, totp) in rows.decode((UUID, String, String, String, String, Date, Date?, Bool).self) {
            accounts.append(Account(id: id, email: email, name: name, role: role, status: status, createdAt: created,
                                    passwordChangedAt: changed, twoFactor: totp))
        }
        guard accounts.allSatisfy({ $0.role == Role.customer.rawValue }) else {
            throw ProblemError(status: .unprocessableContent, code: "not_a_customer", title: "Not a customer",
                               detail: "Data-subject requests cover customers; staff accounts are managed by the tenant's admins.")
        }
        return accounts
    }
}
