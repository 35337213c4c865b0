import Foundation
import Hummingbird
import PostgresNIO
import RampartCore
import RampartStorage

/// What a service holds about one person and how it erases them: implemented by identity,
/// tickets and audit, served by ``DataSubjectRoutes``.
public protocol PersonalDataHolder: Sendable {
    associatedtype Export: Encodable & Sendable

    /// The ids and addresses this service knows the person by, starting from any of `subject`'s;
    /// empty when it knows nobody matching.
    func find(_ subject: DataSubject, tenant: TenantID) async throws -> DataSubject
    /// Everything the service holds about the person, for their copy.
    func export(_ subject: DataSubject, tenant: TenantID) async throws -> Export
    /// Anonymizes the person (by `subject.ids`; addresses are only for finding).
    func erase(_ subject: DataSubject, tenant: TenantID) async throws -> DataSubjectErasure
}

/// `POST /internal/v1/tenants/{tenant}/data-subjects/{find|export|erase}` with a
/// ``DataSubject`` body: a data-subject request's part in one service. Only the region's backup
/// service, which runs data-subject requests, may call them; the allow-list admits it and these
/// routes check the caller again. The tenant is the path's: another tenant's person is not found.
public struct DataSubjectRoutes<Holder: PersonalDataHolder>: Sendable {
    let holder: Holder
    let service: ServiceName

    public init(holder: Holder, service: ServiceName) {
        self.holder = holder
        self.service = service
    }

    struct Export: Encodable {
        var service: String
        var data: Holder.Export
    }

    /// Exports carry times: ISO 8601, as everywhere people read them.
    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    public func register(on router: Router<ServiceRequestContext>) {
        let group = router.group("/internal/v1/tenants/{tenant}/data-subjects")
        group.post("find") { request, context -> DataSubject in
            let (tenant, subject) = try await Self.input(request, context)
            return try await holder.find(subject, tenant: tenant)
        }
        group.post("export") { request, context -> Response in
            let (tenant, subject) = try await Self.input(request, context)
            let body = try Self.encoder.encode(Export(service: service.rawValue, data: try await holder.export(subject, tenant: tenant)))
            return Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                            body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
        group.post("erase") { request, context -> DataSubjectErasure in
            let (tenant, subject) = try await Self.input(request, context)
            return try await holder.erase(subject, tenant: tenant)
        }
    }

    private static func input(_ request: Request, _ context: ServiceRequestContext) async throws -> (TenantID, DataSubject) {
        guard case .service(.backup, _) = context.caller else {
            throw ProblemError(status: .forbidden, code: "caller_not_allowed", title: "Caller not allowed")
        }
        guard let raw = context.parameters.get("tenant"), let id = UUID(uuidString: raw) else {
            throw ProblemError(status: .badRequest, code: "invalid_tenant", title: "Invalid tenant", detail: "The tenant must be a UUID.")
        }
        let subject = try await JSONRequestBody.decode(DataSubject.self, from: request)
        guard !subject.isEmpty, subject.ids.count + subject.emails.count <= 20 else {
            throw ProblemError(status: .badRequest, code: "invalid_subject", title: "Invalid subject", detail: "Name the person by 1 to 20 ids or addresses.")
        }
        return (TenantID(rawValue: id), subject)
    }
}

/// Runs a schema's `erase_person` (``MigrationContext/personErasure(steps:outbox:)``) for one
/// person; audit events still waiting in the outbox are a 409 the caller retries.
public enum PersonErasure {
    /// `checking` runs first, in the erasure's own transaction (the tenant set): what it locks
    /// and checks still holds when the person is erased, and what it throws erases nothing.
    public static func run(_ subject: DataSubject, tenant: TenantID, deleteTickets: Bool = false, database: Database,
                           checking: (PostgresConnection) async throws -> Void = { _ in }) async throws -> [String: Int] {
        let ids = subject.ids.sorted { $0.uuidString < $1.uuidString }
        do {
            let text = try await database.withTenant(tenant) { connection in
                try await checking(connection)
                let rows = try await connection.query("SELECT erase_person(\(tenant.rawValue), \(ids), \(deleteTickets))::text", logger: database.logger)
                var result = "{}"
                for try await json in rows.decode(String.self) { result = json }
                return result
            }
            return try JSONDecoder().decode([String: Int].self, from: Data(text.utf8))
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "RP409" {
            throw ProblemError(status: .conflict, code: "outbox_pending", title: "Audit events pending",
                               detail: "Audit events about the person have not all reached audit yet; retry shortly.")
        }
    }
}

extension DataSubject: ResponseEncodable {}
extension DataSubjectErasure: ResponseEncodable {}
