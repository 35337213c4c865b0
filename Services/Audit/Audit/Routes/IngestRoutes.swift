import Foundation
import Hummingbird
import Metrics
import RampartCore
import RampartSecurity
import RampartTransport

/// `POST /internal/v1/events`: services deliver their outboxes' events here (allow-listed:
/// identity, tickets, backup; the gateway its WAF findings). The caller's certificate names the
/// service recorded with each event. Refusals are counted by reason in
/// `rampart_audit_batches_refused_total`.
struct IngestRoutes: Sendable {
    let store: EventStore

    func register(on router: Router<ServiceRequestContext>) {
        router.post("/internal/v1/events") { request, context -> Response in
            do {
                guard case .service(let service, _) = context.caller else { throw AuditError.callerNotAService }
                let body: ByteBuffer
                do {
                    body = try await request.body.collect(upTo: context.maxUploadSize)
                } catch {
                    Self.refused("too_large")
                    throw ProblemError(status: .contentTooLarge, code: "body_too_large", title: "Request body too large", detail: "A batch is at most 1 MiB.")
                }
                let batch = try EventBatch(json: Data(body.readableBytesView), region: store.region)
                let result = try await store.ingest(batch.events, service: service.rawValue)
                Counter(label: "rampart_audit_events_stored_total").increment(by: result.stored)
                Counter(label: "rampart_audit_events_duplicate_total").increment(by: result.duplicates)
                return try AuditRequest.json(result)
            } catch let error as AuditError {
                Self.refused(error.metricReason)
                context.logger.warning("audit.batch.refused", metadata: ["caller": "\(context.caller.map { "\($0)" } ?? "none")", "reason": "\(error.metricReason)"])
                throw error.problem
            }
        }
    }

    static func refused(_ reason: String) {
        Counter(label: "rampart_audit_batches_refused_total", dimensions: [("reason", reason)]).increment()
    }
}

extension AuditError {
    /// The reason label of the refusal metric.
    var metricReason: String {
        switch self {
        case .malformedBatch: "malformed"
        case .invalidEvent: "invalid_event"
        case .unknownTenant: "unknown_tenant"
        case .callerNotAService: "not_a_service"
        default: "other"
        }
    }
}
