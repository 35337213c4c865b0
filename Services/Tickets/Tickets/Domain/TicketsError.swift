import RampartCore
import RampartTransport

/// What can go wrong in the helpdesk, each with one stable problem code.
enum TicketsError: Error, Sendable {
    /// The thing does not exist for this caller (or the caller may not know it exists).
    case notFound(resource: String)
    /// The caller may see the thing but not do this to it.
    case permissionDenied(String)
    /// Fields this caller may not set (customers setting staff fields).
    case fieldsNotAllowed([String])
    /// Well-formed input that breaks a rule, field by field.
    case invalidInput([ProblemDetails.FieldError])
    case invalidTransition(from: TicketStatus, to: TicketStatus)
    /// `If-Match` named no current version (of a ticket, a department or team, a custom field,
    /// the settings), or could not be read.
    case versionMismatch
    /// A name (department, team, organization, field key, email) already taken in the tenant.
    case duplicate(field: String)
    /// Replies to a closed ticket are refused; it must stay as it was closed.
    case ticketClosed
    case invalidCursor
    case idempotencyKeyReused
    case idempotencyKeyInProgress
    case attachmentTooLarge(limit: Int)
    case attachmentTypeNotAllowed
    /// Attachment ids a message may not take (unknown, someone else's, sent, expired), on `field`.
    case attachmentUnavailable(field: String, String)
    /// The uploader already holds as many unsent uploads as allowed.
    case tooManyUnsentAttachments(limit: Int)
    /// A directory entry still in use that the caller must resolve first (`code` names how).
    case inUse(code: String, detail: String)

    /// The problem document this error answers with.
    var problem: ProblemError {
        switch self {
        case .notFound(let resource):
            ProblemError(status: .notFound, code: "\(resource)_not_found", title: "Not found", detail: "No such \(resource.replacingOccurrences(of: "_", with: " ")).")
        case .permissionDenied(let detail):
            ProblemError(status: .forbidden, code: "permission_denied", title: "Permission denied", detail: detail)
        case .fieldsNotAllowed(let fields):
            ProblemError(status: .forbidden, code: "permission_denied", title: "Permission denied", detail: "Only staff may set these fields.",
                         fieldErrors: fields.map { .init(field: $0, message: "Only staff may set this field.") })
        case .invalidInput(let errors):
            ProblemError(status: .unprocessableContent, code: "invalid_input", title: "Invalid input", fieldErrors: errors)
        case .invalidTransition(let from, let to):
            ProblemError(status: .unprocessableContent, code: "invalid_status_transition", title: "Invalid status change",
                         detail: "A ticket cannot move from \(from.rawValue) to \(to.rawValue).",
                         fieldErrors: [.init(field: "status", message: "Allowed from \(from.rawValue): \(from.allowedNext.map(\.rawValue).sorted().joined(separator: ", ")).")])
        case .versionMismatch:
            EntityTag.mismatch(detail: "It changed since the version named in If-Match; fetch it again.")
        case .duplicate(let field):
            ProblemError(status: .conflict, code: "already_exists", title: "Already exists", fieldErrors: [.init(field: field, message: "Already taken in this tenant.")])
        case .ticketClosed:
            ProblemError(status: .conflict, code: "ticket_closed", title: "Ticket closed", detail: "A closed ticket takes no more messages; open a new ticket.")
        case .invalidCursor:
            ProblemError(status: .badRequest, code: "invalid_cursor", title: "Invalid cursor",
                         fieldErrors: [.init(field: "cursor", message: "Use the cursor from links.next unchanged, with the same sort.")])
        case .idempotencyKeyReused:
            ProblemError(status: .unprocessableContent, code: "idempotency_key_reused", title: "Idempotency key reused",
                         detail: "This Idempotency-Key was used with a different request.")
        case .idempotencyKeyInProgress:
            ProblemError(status: .conflict, code: "idempotency_key_in_progress", title: "Request in progress",
                         detail: "A request with this Idempotency-Key is still being processed; retry later.")
        case .attachmentTooLarge(let limit):
            ProblemError(status: .contentTooLarge, code: "attachment_too_large", title: "Attachment too large",
                         detail: "Attachments are limited to \(limit) bytes in this tenant.")
        case .attachmentTypeNotAllowed:
            ProblemError(status: .unsupportedMediaType, code: "attachment_type_not_allowed", title: "Attachment type not allowed",
                         detail: "Allowed: PNG, JPEG, GIF and WebP images, PDF, plain text and ZIP archives (judged by content, not by name).")
        case .attachmentUnavailable(let field, let detail):
            ProblemError(status: .unprocessableContent, code: "invalid_input", title: "Invalid input", fieldErrors: [.init(field: field, message: detail)])
        case .tooManyUnsentAttachments(let limit):
            ProblemError(status: .conflict, code: "too_many_unsent_attachments", title: "Too many unsent attachments",
                         detail: "You hold \(limit) uploads not yet sent; send them with a message or wait for them to expire.")
        case .inUse(let code, let detail):
            ProblemError(status: .conflict, code: code, title: "Still in use", detail: detail)
        }
    }
}
