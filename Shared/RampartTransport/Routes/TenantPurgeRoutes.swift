import Foundation
import Hummingbird
import PostgresNIO
import RampartCore
import RampartSecurity
import RampartStorage

/// `DELETE /internal/v1/tenants/{tenant}/data`: deletes every row of one tenant from the
/// service's schema through its `purge_tenant` function (``MigrationContext/tenantPurge(tables:finally:)``).
/// Only the region's backup service, which runs purges, may call it; the allow-list admits it
/// and this route checks the caller again. Calling it twice deletes nothing the second time.
public struct TenantPurgeRoutes: Sendable {
    let database: Database
    let service: ServiceName
    /// Refuses a purge the service must not carry out, by throwing a problem (identity: the
    /// tenant has not been cancelled).
    let precondition: @Sendable (TenantID) async throws -> Void

    public init(database: Database, service: ServiceName, precondition: @escaping @Sendable (TenantID) async throws -> Void = { _ in }) {
        self.database = database
        self.service = service
        self.precondition = precondition
    }

    public func register(on router: Router<ServiceRequestContext>) {
        router.delete("/internal/v1/tenants/{tenant}/data") { _, context -> TenantDataDeletion in
            guard case .service(.backup, _) = context.caller else {
                throw ProblemError(status: .forbidden, code: "caller_not_allowed", title: "Caller not allowed")
            }
            guard let raw = context.parameters.get("tenant"), let id = UUID(uuidString: raw) else {
                throw ProblemError(status: .badRequest, code: "invalid_tenant", title: "Invalid tenant", detail: "The tenant must be a UUID.")
            }
            let tenant = TenantID(rawValue: id)
            try await precondition(tenant)
            return TenantDataDeletion(service: service.rawValue, deleted: try await purge(tenant))
        }
    }

    private func purge(_ tenant: TenantID) async throws -> [String: Int] {
        do {
            let text = try await database.withTransaction { connection in
                let rows = try await connection.query("SELECT purge_tenant(\(tenant.rawValue))::text", logger: database.logger)
                var result = "{}"
                for try await (json) in rows.decode(String.self) { result = json }
                return result
            }
            return try JSONDecoder().decode([String: Int].self, from: Data(text.utf8))
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "RP409" {
            throw ProblemError(status: .conflict, code: "outbox_pending", title: "Audit events pending",
                               detail: "The tenant's audit events have not all reached audit yet; retry shortly.")
        }
    }
}

extension TenantDataDeletion: ResponseEncodable {}
