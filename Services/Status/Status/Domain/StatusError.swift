import Foundation
import RampartCore
import RampartTransport

/// Why the status service refused an operator's write.
public enum StatusError: Error, Equatable, Sendable {
    /// Field-level problems with the input (unknown component, empty text, bad window).
    case invalid([ProblemDetails.FieldError])
    case notFound
    /// The new status lies before the current one in the lifecycle.
    case backwards(from: Incident.Status, to: Incident.Status)
    /// The incident is resolved or the window completed; its history is closed.
    case closed
    /// A maintenance status given to an incident, or the other way round.
    case wrongKind(Incident.Status)
    /// The service's own database did not answer in time; nothing was written.
    case storeUnavailable

    /// The problem document this refusal answers with.
    public var problem: ProblemError {
        switch self {
        case .invalid(let errors):
            ProblemError(status: .unprocessableContent, code: "invalid_input", title: "Invalid input", fieldErrors: errors)
        case .notFound:
            ProblemError(status: .notFound, code: "incident_not_found", title: "Incident not found")
        case .backwards(let from, let to):
            ProblemError(status: .conflict, code: "invalid_transition", title: "Invalid status change",
                         detail: "The status cannot go back from \(from.rawValue) to \(to.rawValue).")
        case .closed:
            ProblemError(status: .conflict, code: "incident_closed", title: "Incident closed",
                         detail: "It is resolved or completed; open a new one instead.")
        case .wrongKind(let status):
            ProblemError(status: .unprocessableContent, code: "invalid_input", title: "Invalid input",
                         fieldErrors: [.init(field: "status", message: "\(status.rawValue) is not a status of this kind of record.")])
        case .storeUnavailable:
            ProblemError(status: .serviceUnavailable, code: "store_unavailable", title: "Status records unavailable",
                         detail: "Nothing was written; try again shortly.", headers: [.retryAfter: "10"])
        }
    }
}
