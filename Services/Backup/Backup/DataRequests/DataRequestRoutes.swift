import Foundation
import Hummingbird
import RampartCore
import RampartSecurity
import RampartTransport

/// Data-subject requests: tenant admins through the gateway (`POST /api/v1/data-requests`, a
/// principal holding `users:write`, which only admins' roles grant) for their own tenant, and
/// operators (`rampartctl person export|erase`, `POST /internal/v1/backup/data-requests`) for a
/// tenant they name. Either way the answer is the export document or the erasure receipt.
struct DataRequestRoutes: Sendable {
    /// `nil` when this instance is not configured for them (no endpoints or ledger).
    let requests: DataSubjectRequests?

    enum Kind: String, Decodable { case export, erase }

    struct AdminRequest: Decodable {
        var type: Kind
        var person: String
    }

    struct OperatorRequest: Decodable {
        var tenantID: UUID
        var type: Kind
        var person: String

        enum CodingKeys: String, CodingKey {
            case type, person
            case tenantID = "tenant_id"
        }
    }

    func register(on router: Router<ServiceRequestContext>) {
        router.post("/internal/v1/backup/data-requests") { request, context -> Response in
            let name = try PurgeRoutes.operatorName(context)
            let body = try await JSONRequestBody.decode(OperatorRequest.self, from: request)
            let actor = AuditEvent.Actor(type: "operator", id: name, authenticationMethod: "certificate")
            return try await answer(body.type, tenant: TenantID(rawValue: body.tenantID), person: body.person, actor: actor, requestID: context.requestID)
        }
        router.group("/api/v1/data-requests", context: AuthenticatedContext.self).post { request, context -> Response in
            let principal = context.principal
            guard principal.has(scope: "users:write"), principal.kind == .admin || principal.kind == .apiClient else {
                throw ProblemError(status: .forbidden, code: "permission_denied", title: "Permission denied",
                                   detail: "Data-subject requests need the admin.users permission (tenant admins).")
            }
            let body = try await JSONRequestBody.decode(AdminRequest.self, from: request)
            let type = principal.kind == .apiClient ? (principal.clientID == nil ? "api_key" : "oauth_client") : "admin"
            let actor = AuditEvent.Actor(type: type, id: principal.subject, sessionID: principal.sessionID,
                                         authenticationMethod: principal.authenticationMethod.rawValue)
            return try await answer(body.type, tenant: principal.tenantID, person: body.person, actor: actor, requestID: context.requestID)
        }
    }

    private func answer(_ kind: Kind, tenant: TenantID, person: String, actor: AuditEvent.Actor, requestID: String) async throws -> Response {
        guard let requests else {
            throw ProblemError(status: .conflict, code: "data_requests_not_configured", title: "Data-subject requests not configured",
                               detail: "This instance has no RAMPART_BACKUP_ENDPOINTS or RAMPART_ERASURE_LEDGER.")
        }
        let key = person.trimmingCharacters(in: .whitespaces)
        guard (1...254).contains(key.count), !key.unicodeScalars.contains(where: { $0.value < 0x20 }) else {
            throw ProblemError(status: .unprocessableContent, code: "invalid_input", title: "Invalid input",
                               fieldErrors: [.init(field: "person", message: "an id or an e-mail address")])
        }
        let body: Data
        var headers: HTTPFields = [.contentType: "application/json", .cacheControl: "no-store"]
        switch kind {
        case .export:
            body = try await requests.export(tenant: tenant, key: key, requester: actor, requestID: requestID)
            headers[.contentDisposition] = "attachment; filename=\"person-export.json\""
        case .erase:
            body = try await requests.erase(tenant: tenant, key: key, requester: actor, requestID: requestID).canonicalJSON()
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
