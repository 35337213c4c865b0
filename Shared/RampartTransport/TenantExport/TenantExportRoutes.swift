import Foundation
import HTTPTypes
import Hummingbird
import RampartCore

/// What a service holds of one tenant, page by page, for the tenant's export archive:
/// implemented by identity, tickets and audit, served by ``TenantExportRoutes``.
public protocol TenantDataExporter: Sendable {
    /// The entities this service exports, each one JSON Lines file of the archive.
    var entities: [String] { get }
    /// At most `limit` rows of `entity` after `cursor` (the previous page's ``TenantExportPage/next``),
    /// each one JSON object without secrets.
    func page(_ entity: String, tenant: TenantID, after cursor: String?, limit: Int) async throws -> TenantExportPage
    /// The bytes of one file the rows name (tickets' attachments); `nil` when there is none.
    func file(_ id: UUID, tenant: TenantID) async throws -> Data?
}

extension TenantDataExporter {
    public func file(_ id: UUID, tenant: TenantID) async throws -> Data? { nil }
}

/// One page of an entity: its rows as JSON objects, and the cursor of the next page (`nil` at the end).
public struct TenantExportPage: Sendable {
    /// The response header naming the next page's cursor.
    public static let nextHeader = "Rampart-Export-Next"

    public var rows: [Data]
    public var next: String?

    public init(rows: [Data], next: String?) {
        self.rows = rows
        self.next = next
    }
}

/// `POST /internal/v1/tenants/{tenant}/export`: the entities this service exports;
/// `POST /internal/v1/tenants/{tenant}/export/{entity}` with `{"after": cursor, "limit": n}`:
/// one page as JSON Lines (`application/x-ndjson`), the next page's cursor in
/// `Rampart-Export-Next`; `POST /internal/v1/tenants/{tenant}/export-files/{id}`: one file's
/// bytes. Only the region's backup service, which builds tenant exports, may call them: the
/// allow-list admits it and these routes check the caller again. POST because audit admits
/// backup's POSTs only.
public struct TenantExportRoutes<Exporter: TenantDataExporter>: Sendable {
    let exporter: Exporter

    /// The largest page a caller may ask for.
    public static var maximumLimit: Int { 1_000 }

    public init(exporter: Exporter) {
        self.exporter = exporter
    }

    struct PageRequest: Decodable {
        var after: String?
        var limit: Int?
    }

    struct Entities: ResponseEncodable {
        var entities: [String]
    }

    public func register(on router: Router<ServiceRequestContext>) {
        router.post("/internal/v1/tenants/{tenant}/export") { _, context -> Entities in
            _ = try Self.tenant(context)
            return Entities(entities: exporter.entities)
        }
        router.post("/internal/v1/tenants/{tenant}/export/{entity}") { request, context -> Response in
            let tenant = try Self.tenant(context)
            guard let entity = context.parameters.get("entity"), exporter.entities.contains(entity) else {
                throw ProblemError(status: .notFound, code: "unknown_entity", title: "Unknown entity",
                                   detail: "This service exports \(exporter.entities.joined(separator: ", ")).")
            }
            let body = try await JSONRequestBody.decode(PageRequest.self, from: request)
            let limit = body.limit ?? 500
            guard (1...Self.maximumLimit).contains(limit), (body.after?.count ?? 0) <= 200 else {
                throw ProblemError(status: .badRequest, code: "invalid_page", title: "Invalid page",
                                   detail: "The limit is 1 to \(Self.maximumLimit); the cursor is the previous page's.")
            }
            let page = try await exporter.page(entity, tenant: tenant, after: body.after, limit: limit)
            var buffer = ByteBuffer()
            for row in page.rows {
                buffer.writeBytes(row)
                buffer.writeInteger(UInt8(ascii: "\n"))
            }
            var headers: HTTPFields = [.contentType: "application/x-ndjson", .cacheControl: "no-store"]
            if let next = page.next, let name = HTTPField.Name(TenantExportPage.nextHeader) { headers[name] = next }
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: buffer))
        }
        router.post("/internal/v1/tenants/{tenant}/export-files/{id}") { _, context -> Response in
            let tenant = try Self.tenant(context)
            guard let raw = context.parameters.get("id"), let id = UUID(uuidString: raw), let data = try await exporter.file(id, tenant: tenant) else {
                throw ProblemError(status: .notFound, code: "file_not_found", title: "No such file")
            }
            return Response(status: .ok, headers: [.contentType: "application/octet-stream", .cacheControl: "no-store"],
                            body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
    }

    private static func tenant(_ context: ServiceRequestContext) throws -> TenantID {
        guard case .service(.backup, _) = context.caller else {
            throw ProblemError(status: .forbidden, code: "caller_not_allowed", title: "Caller not allowed")
        }
        guard let raw = context.parameters.get("tenant"), let id = UUID(uuidString: raw) else {
            throw ProblemError(status: .badRequest, code: "invalid_tenant", title: "Invalid tenant", detail: "The tenant must be a UUID.")
        }
        return TenantID(rawValue: id)
    }
}
