import Foundation

/// A ticket as the API shows it (subject and custom fields opened).
struct TicketView: Codable, Sendable {
    struct Requester: Codable, Sendable {
        var id: UUID
        var name: String
        var email: String?
    }

    var id: UUID
    var subject: String
    var status: TicketStatus
    var priority: TicketPriority
    var departmentID: UUID?
    var assigneeID: UUID?
    var teamID: UUID?
    var requester: Requester?
    var organizationID: UUID?
    var ccIDs: [UUID]
    var labels: [String]
    var customFields: [String: JSONValue]
    var createdAt: Date
    var updatedAt: Date
    var resolvedAt: Date?
    var firstRespondedAt: Date?
    var firstResponseDueAt: Date?
    var resolutionDueAt: Date?
    var deletedAt: Date?
    var version: Int

    enum CodingKeys: String, CodingKey {
        case id, subject, status, priority, requester, labels, version
        case departmentID = "department_id"
        case assigneeID = "assignee_id"
        case teamID = "team_id"
        case organizationID = "organization_id"
        case ccIDs = "cc_ids"
        case customFields = "custom_fields"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case resolvedAt = "resolved_at"
        case firstRespondedAt = "first_responded_at"
        case firstResponseDueAt = "first_response_due_at"
        case resolutionDueAt = "resolution_due_at"
        case deletedAt = "deleted_at"
    }
}

/// A message as the API shows it (body opened).
struct MessageView: Codable, Sendable {
    struct Author: Codable, Sendable {
        var type: String
        var id: String
    }

    struct Attachment: Codable, Sendable {
        var id: UUID
        var filename: String
        var contentType: String
        var size: Int

        enum CodingKeys: String, CodingKey {
            case id, filename, size
            case contentType = "content_type"
        }
    }

    var id: UUID
    var ticketID: UUID
    var kind: MessageKind
    var body: String
    var format: MessageFormat
    var author: Author
    var attachments: [Attachment]
    var createdAt: Date

    enum CodingKeys: String, CodingKey {
        case id, kind, body, format, author, attachments
        case ticketID = "ticket_id"
        case createdAt = "created_at"
    }
}
