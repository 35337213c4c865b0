import Foundation
import Logging
import NIOHTTP1
import RampartCore
import RampartSecurity
import RampartTransport

/// The region's services as backup's data-subject requests and tenant exports reach them: over
/// their allow-listed internal routes with backup's certificate, a refusal (4xx) passed on as it
/// is, anything else a 502; and the tenant's audit log, where each request is recorded first.
struct RegionServices: Sendable {
    let region: Region
    let endpoints: [ServiceName: String]
    let tls: InternalTLS
    let logger: Logger

    /// Runs `body` with a client of its own, closed afterwards: requests are rare, connections are not kept.
    func withClient<R>(_ body: (InternalClient) async throws -> R) async throws -> R {
        try await Self.withClient(tls: tls, body)
    }

    /// Runs `body` with a client under `tls`, closed afterwards whatever `body` does.
    static func withClient<R>(tls: InternalTLS, _ body: (InternalClient) async throws -> R) async throws -> R {
        let client = InternalClient(tls: tls)
        do {
            let result = try await body(client)
            try? await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    /// One call; a service's refusal (4xx but 403) is passed on as it is, anything else is a 502.
    func send(_ client: InternalClient, _ method: HTTPMethod, _ service: ServiceName, _ path: String, body: Data,
              maximumBodyBytes: Int = 4 * 1024 * 1024) async throws -> InternalClient.Reply {
        guard let base = endpoints[service] else {
            throw ProblemError(status: .badGateway, code: "service_unavailable", title: "Service unavailable", detail: "No URL of \(service) in region \(region).")
        }
        let reply: InternalClient.Reply
        do {
            reply = try await client.send(method, url: base + path, body: body, maximumBodyBytes: maximumBodyBytes)
        } catch {
            throw ProblemError(status: .badGateway, code: "service_unavailable", title: "Service unavailable", detail: "\(service) did not answer.")
        }
        struct Problem: Decodable { var code: String?; var title: String?; var detail: String? }
        switch reply.status {
        case 200..<300:
            return reply
        case 400..<500 where reply.status != 403:
            let problem = try? JSONDecoder().decode(Problem.self, from: reply.body)
            throw ProblemError(status: .init(code: reply.status), code: problem?.code ?? "request_refused", title: problem?.title ?? "Request refused",
                               detail: problem?.detail)
        default:
            logger.error("backup.service_failed", metadata: ["service": "\(service)", "status": "\(reply.status)"])
            throw ProblemError(status: .badGateway, code: "service_unavailable", title: "Service unavailable", detail: "\(service) answered \(reply.status).")
        }
    }

    /// Records `action` on `resource` in the tenant's audit log: who asked, ids only, no personal data.
    func audit(_ action: String, resource: AuditEvent.Resource, tenant: TenantID, requester: AuditEvent.Actor, requestID: String?,
               _ client: InternalClient) async throws {
        let event = AuditEvent(tenantID: tenant, region: region, actor: requester, action: action, resource: resource, requestID: requestID,
                               source: requester.type == "operator" ? "system" : "api")
        let body = try DeletionCertificate.encoder.encode(["events": [event]])
        _ = try await send(client, .POST, .audit, "/internal/v1/events", body: body)
    }
}
