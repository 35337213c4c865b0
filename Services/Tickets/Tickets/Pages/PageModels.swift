import Foundation
import RampartSecurity
import RampartTransport
import RampartWeb

/// What the helpdesk's templates read: tickets, messages and attachments as display text.
/// Plain stored values and `Bool` flags, because templates look values up by name.
enum PageModels {
    /// A ticket in a list.
    struct Row {
        let href: String
        let subject: String
        let requester: String
        let status: String
        let priority: String
        let priorityKey: String
        let department: String
        let assignee: String
        let updated: String
        let timestamp: String
    }

    /// A message of the conversation. HTML bodies are shown as the sanitizer leaves them (the
    /// one unescaped value of any template); plain text is escaped like every other value.
    struct Message {
        let id: String
        let kindLabel: String
        let isNote: Bool
        let author: String
        let time: String
        let timestamp: String
        let isHTML: Bool
        let text: String
        let sanitizedHTML: String
        let attachments: [Attachment]
        let hasAttachments: Bool
    }

    struct Attachment {
        let href: String
        let filename: String
        let size: String
    }

    /// A label and its value in a ticket's details.
    struct Fact {
        let label: String
        let value: String
    }


    static func row(_ ticket: TicketView, href: String, departments: [UUID: String], viewer: String?, names: StaffNames) -> Row {
        Row(href: href, subject: ticket.subject, requester: ticket.requester.map(requesterName) ?? "—",
            status: statusLabel(ticket.status), priority: priorityLabel(ticket.priority), priorityKey: ticket.priority.rawValue,
            department: ticket.departmentID.map { departments[$0] ?? "Other department" } ?? "—",
            assignee: assigneeLabel(ticket.assigneeID, viewer: viewer, names: names), updated: time(ticket.updatedAt), timestamp: Timestamp.format(ticket.updatedAt))
    }

    /// The conversation as `viewer` (a principal subject) sees it; `attachmentBase` is the area's
    /// download path; `names` names staff authors for staff (customers see "Support").
    static func messages(_ messages: [MessageView], ticket: TicketView, viewer: String, staffView: Bool, names: StaffNames,
                         attachmentBase: String) -> [Message] {
        messages.map { message in
            let html = message.format == .html
            return Message(
                id: message.id.uuidString.lowercased(), kindLabel: message.kind == .note ? "Internal note" : (staffView ? "Public reply" : "Reply"),
                isNote: message.kind == .note,
                author: author(message.author, ticket: ticket, viewer: viewer, staffView: staffView, names: names),
                time: time(message.createdAt), timestamp: Timestamp.format(message.createdAt), isHTML: html,
                text: html ? "" : message.body,
                // Sanitized when stored; sanitized again here so what reaches the page never depends on old data.
                sanitizedHTML: html ? HTMLSanitizer().sanitize(message.body) : "",
                attachments: message.attachments.map {
                    Attachment(href: "\(attachmentBase)/\($0.id.uuidString.lowercased())", filename: $0.filename, size: size($0.size))
                },
                hasAttachments: !message.attachments.isEmpty
            )
        }
    }

    static func author(_ author: MessageView.Author, ticket: TicketView, viewer: String, staffView: Bool, names: StaffNames) -> String {
        if author.id == viewer { return "You" }
        if author.type == "customer" {
            return staffView ? ticket.requester.map(requesterName) ?? "Customer" : "Customer"
        }
        // Customers see "Support" (agents' names are not theirs to learn); staff see who.
        return staffView ? names.label(subject: author.id) : "Support"
    }

    static func requesterName(_ requester: TicketView.Requester) -> String {
        if let email = requester.email, !email.isEmpty, email != requester.name { return "\(requester.name) <\(email)>" }
        return requester.name
    }

    static func assigneeLabel(_ assignee: UUID?, viewer: String?, names: StaffNames) -> String {
        guard let assignee else { return "Unassigned" }
        if let viewer, viewer == "user:\(assignee.uuidString.lowercased())" { return "You" }
        return names.label(assignee)
    }

    /// The first 8 characters of an id (after a `user:` prefix).
    static func shortID(_ id: String) -> String {
        String(id.lowercased().replacingOccurrences(of: "user:", with: "").prefix(8))
    }

    static func statusLabel(_ status: TicketStatus) -> String {
        switch status {
        case .new: "New"
        case .open: "Open"
        case .awaitingCustomer: "Awaiting customer"
        case .awaitingAgent: "Awaiting agent"
        case .resolved: "Resolved"
        case .closed: "Closed"
        }
    }

    static func priorityLabel(_ priority: TicketPriority) -> String {
        priority.rawValue.prefix(1).uppercased() + priority.rawValue.dropFirst()
    }

    static func time(_ date: Date) -> String {
        date.formatted(Date.VerbatimFormatStyle(format: "\(year: .defaultDigits)-\(month: .twoDigits)-\(day: .twoDigits) \(hour: .twoDigits(clock: .twentyFourHour, hourCycle: .zeroBased)):\(minute: .twoDigits) UTC",
                                                timeZone: .gmt, calendar: Calendar(identifier: .gregorian)))
    }

    static func size(_ bytes: Int) -> String {
        bytes < 1024 ? "\(bytes) B" : bytes < 1024 * 1024 ? "\(bytes / 1024) KB" : String(format: "%.1f MB", Double(bytes) / 1_048_576)
    }
}

/// Staff as the agent console shows them. Anyone identity's directory did not name (identity
/// unreachable or not configured, a user beyond the directory's bound) shows as a short id, as
/// before names existed; a page never fails for want of a name.
extension StaffNames {
    /// A staff user's name, or "Agent 1a2b3c4d".
    func label(_ id: UUID) -> String {
        name(id) ?? "Agent \(PageModels.shortID(id.uuidString))"
    }

    /// A principal subject's name: a user's (as ``label(_:)``), or "API client" for a key or OAuth client.
    func label(subject: String) -> String {
        Principal.userID(subject: subject).map(label) ?? "API client"
    }
}
