import Foundation
import RampartCore
import RampartStorage
import RampartTransport

/// Identity's part of a tenant export: its users (never password hashes, TOTP secrets, API key
/// hashes or sessions), the roles with the permissions they grant, and its single sign-on
/// configurations without their sealed secrets (only whether one is set).
struct TenantIdentityExport: TenantDataExporter {
    let database: Database

    static let users = TenantExportTable(entity: "users", table: "users", projection: """
        jsonb_build_object('id', t.id, 'email', t.email, 'name', t.name, 'role', t.role, 'status', t.status,
            'created_at', t.created_at, 'password_changed_at', t.password_changed_at,
            'two_factor', EXISTS (SELECT 1 FROM totp_credentials c WHERE c.user_id = t.id AND c.confirmed_at IS NOT NULL))
        """)

    var entities: [String] { ["users", "roles", "sso_configurations"] }

    func page(_ entity: String, tenant: TenantID, after cursor: String?, limit: Int) async throws -> TenantExportPage {
        switch entity {
        case "users":
            return try await Self.users.page(tenant: tenant, after: cursor, limit: limit, database: database, keyring: nil)
        case "roles":
            let rows = try Role.allCases.map { role in
                try JSONSerialization.data(withJSONObject: ["role": role.rawValue, "permissions": role.permissions.map(\.rawValue)],
                                           options: [.sortedKeys])
            }
            return TenantExportPage(rows: rows, next: nil)
        default:
            // One row per audience at most: a single page. The sealed secrets stay; `*_secret_set` says whether there is one.
            let rows: [Data] = try await database.withTenant(tenant) { connection in
                let result = try await connection.query("""
                    SELECT jsonb_build_object('audience', audience, 'updated_at', updated_at,
                        'configuration', configuration #- '{jwt,sealed_secret}' #- '{oidc,sealed_secret}',
                        'jwt_secret_set', configuration #> '{jwt,sealed_secret}' IS NOT NULL,
                        'oidc_client_secret_set', configuration #> '{oidc,sealed_secret}' IS NOT NULL)::text
                    FROM sso_configurations ORDER BY audience
                    """, logger: database.logger)
                var rows: [Data] = []
                for try await json in result.decode(String.self) { rows.append(Data(json.utf8)) }
                return rows
            }
            return TenantExportPage(rows: rows, next: nil)
        }
    }
}
