import HTTPTypes
import RampartCore
import RampartTransport

/// Why audit refused a request; each maps to one stable problem code.
public enum AuditError: Error, Equatable, Sendable {
    /// The batch is empty, too large or not an envelope of events.
    case malformedBatch(String)
    /// One event failed validation; `field` names it (`events[3].actor.type`).
    case invalidEvent(field: String, message: String)
    /// The event's tenant has no live key in this region: unknown here, or erased.
    case unknownTenant
    /// Only services write events.
    case callerNotAService
    case invalidQuery(field: String, message: String)
    case permissionDenied(String)
    case alertNotFound
    case tenantNotFound

    var problem: ProblemError {
        switch self {
        case .malformedBatch(let detail):
            ProblemError(status: .badRequest, code: "malformed_batch", title: "Malformed event batch", detail: detail)
        case .invalidEvent(let field, let message):
            ProblemError(status: .unprocessableContent, code: "invalid_event", title: "Invalid event", detail: "No event of the batch was stored.",
                         fieldErrors: [ProblemDetails.FieldError(field: field, message: message)])
        case .unknownTenant:
            ProblemError(status: .unprocessableContent, code: "unknown_tenant", title: "Unknown tenant",
                         detail: "An event names a tenant this region does not know (or that was erased). No event of the batch was stored.")
        case .callerNotAService:
            ProblemError(status: .forbidden, code: "caller_not_allowed", title: "Caller not allowed", detail: "Only services write audit events.")
        case .invalidQuery(let field, let message):
            ProblemError(status: .unprocessableContent, code: "invalid_query", title: "Invalid query",
                         fieldErrors: [ProblemDetails.FieldError(field: field, message: message)])
        case .permissionDenied(let detail):
            ProblemError(status: .forbidden, code: "permission_denied", title: "Permission denied", detail: detail)
        case .alertNotFound:
            ProblemError(status: .notFound, code: "alert_not_found", title: "Alert not found")
        case .tenantNotFound:
            ProblemError(status: .notFound, code: "tenant_not_found", title: "Tenant not found", detail: "This region holds no audit log for the tenant.")
        }
    }
}
