import Foundation
import Hummingbird
import RampartCore
import RampartSecurity
import RampartTransport

/// Tenant exports. Tenant admins through the gateway (`/api/v1/exports`, a principal holding
/// `users:write`, which only the admin role grants) for their own tenant: request one, list
/// them, see one, download it while it has not expired. Operators (`rampartctl tenant export`)
/// through `/internal/v1/backup/exports` for a tenant they name. Every request and every
/// download is in the tenant's audit log before anything else happens.
struct ExportRoutes: Sendable {
    /// `nil` when this instance is not configured for exports (no endpoints, signing key or export directory).
    let exporter: TenantExporter?

    struct Exports: ResponseEncodable {
        var data: [TenantExport]
    }

    struct OperatorRequest: Decodable {
        var tenantID: UUID

        enum CodingKeys: String, CodingKey {
            case tenantID = "tenant_id"
        }
    }

    func register(on router: Router<ServiceRequestContext>) {
        let api = router.group("/api/v1/exports", context: AuthenticatedContext.self)
        api.post { _, context -> EditedResponse<TenantExport> in
            let (principal, actor) = try Self.admin(context)
            return EditedResponse(status: .accepted, response: try await configured().request(tenant: principal.tenantID, requester: actor,
                                                                                                requestID: context.requestID))
        }
        api.get { _, context -> Exports in
            let (principal, _) = try Self.admin(context)
            return Exports(data: try await configured().exports.list(tenant: principal.tenantID))
        }
        api.get("{id}") { _, context -> TenantExport in
            let (principal, _) = try Self.admin(context)
            guard let export = try await configured().exports.find(try Self.exportID(context), tenant: principal.tenantID) else { throw TenantExporter.notFound }
            return export
        }
        api.get("{id}/download") { _, context -> Response in
            let (principal, actor) = try Self.admin(context)
            return try await download(try Self.exportID(context), tenant: principal.tenantID, actor: actor, requestID: context.requestID)
        }

        let operators = router.group("/internal/v1/backup/exports")
        operators.post { request, context -> EditedResponse<TenantExport> in
            let actor = try Self.operatorActor(context)
            let body = try await JSONRequestBody.decode(OperatorRequest.self, from: request)
            return EditedResponse(status: .accepted, response: try await configured().request(tenant: TenantID(rawValue: body.tenantID), requester: actor,
                                                                                                requestID: context.requestID))
        }
        operators.get("{tenant}/{id}") { _, context -> TenantExport in
            _ = try Self.operatorActor(context)
            guard let export = try await configured().exports.find(try Self.exportID(context), tenant: try Self.tenantID(context)) else { throw TenantExporter.notFound }
            return export
        }
        operators.get("{tenant}/{id}/download") { _, context -> Response in
            let actor = try Self.operatorActor(context)
            return try await download(try Self.exportID(context), tenant: try Self.tenantID(context), actor: actor, requestID: context.requestID)
        }
    }

    /// The decrypted archive, streamed a chunk at a time, after the download is in the audit log.
    private func download(_ id: UUID, tenant: TenantID, actor: AuditEvent.Actor, requestID: String) async throws -> Response {
        let exporter = try configured()
        let (export, reader) = try await exporter.openArchive(id, tenant: tenant)
        do {
            try await exporter.services.withClient { client in
                try await exporter.services.audit("export.downloaded", resource: .init(type: "export", id: id.uuidString.lowercased()),
                                                  tenant: tenant, requester: actor, requestID: requestID, client)
            }
        } catch {
            reader.close()
            throw error
        }
        let headers: HTTPFields = [
            .contentType: "application/x-tar", .cacheControl: "no-store",
            .contentDisposition: "attachment; filename=\"rampart-export-\(id.uuidString.lowercased()).tar\"",
        ]
        let logger = exporter.logger
        return Response(status: .ok, headers: headers, body: ResponseBody(contentLength: export.size.map(Int.init)) { writer in
            var reader = reader
            do {
                while let chunk = try await reader.next() {
                    try await writer.write(ByteBuffer(bytes: chunk))
                }
            } catch {
                // Headers are sent: the connection is cut, and the archive's verification fails where it arrives.
                logger.error("export.download_failed", metadata: ["export": "\(id)", "error": "\(type(of: error))"])
                reader.close()
                throw error
            }
            try await writer.finish(nil)
        })
    }

    private func configured() throws -> TenantExporter {
        guard let exporter else {
            throw ProblemError(status: .conflict, code: "exports_not_configured", title: "Exports not configured",
                               detail: "This instance has no RAMPART_BACKUP_ENDPOINTS, RAMPART_BACKUP_SIGNING_KEY or RAMPART_EXPORT_DIR.")
        }
        return exporter
    }

    /// The tenant's admin (or an API client holding `users:write`) and the audit actor they are.
    /// Customers have no exports to see (404, as for anything outside their reach); staff without the permission get 403.
    static func admin(_ context: AuthenticatedContext) throws -> (Principal, AuditEvent.Actor) {
        let principal = context.principal
        guard principal.kind != .customer else { throw TenantExporter.notFound }
        guard principal.has(scope: "users:write"), principal.kind == .admin || principal.kind == .apiClient else {
            throw ProblemError(status: .forbidden, code: "permission_denied", title: "Permission denied",
                               detail: "Tenant exports need the admin.users permission (tenant admins).")
        }
        let type = principal.kind == .apiClient ? (principal.clientID == nil ? "api_key" : "oauth_client") : "admin"
        return (principal, AuditEvent.Actor(type: type, id: principal.subject, sessionID: principal.sessionID,
                                            authenticationMethod: principal.authenticationMethod.rawValue))
    }

    static func operatorActor(_ context: ServiceRequestContext) throws -> AuditEvent.Actor {
        AuditEvent.Actor(type: "operator", id: try PurgeRoutes.operatorName(context), authenticationMethod: "certificate")
    }

    static func exportID(_ context: some RequestContext) throws -> UUID {
        guard let raw = context.parameters.get("id"), let id = UUID(uuidString: raw) else { throw TenantExporter.notFound }
        return id
    }

    static func tenantID(_ context: ServiceRequestContext) throws -> TenantID {
        guard let raw = context.parameters.get("tenant"), let tenant = TenantID(raw) else { throw TenantExporter.notFound }
        return tenant
    }
}

extension TenantExport: ResponseEncodable {}
