import Foundation

/// The body of `POST /api/v1/tickets`: only `subject` and `message` are required.
struct NewTicket: StrictBody, Sendable {
    var subject: String
    var message: Strict<NewMessage>
    var priority: TicketPriority?
    var department: UUID?
    var assigneeID: UUID?
    var teamID: UUID?
    var requester: Strict<EmailInput>?
    var cc: [Strict<EmailInput>]?
    var labels: [String]?
    var customFields: [String: JSONValue]?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case subject, message, priority, department, requester, cc, labels
        case assigneeID = "assignee_id"
        case teamID = "team_id"
        case customFields = "custom_fields"
    }

    /// Fields only staff may set; a customer's ticket is theirs, unassigned.
    var staffOnlyFields: [String] {
        [assigneeID.map { _ in "assignee_id" }, teamID.map { _ in "team_id" }, requester.map { _ in "requester" },
         cc.map { _ in "cc" }, labels.map { _ in "labels" }].compactMap { $0 }
    }
}

/// A message: the first one of a new ticket, or one added with `POST /api/v1/tickets/{id}/messages`.
struct NewMessage: StrictBody, Sendable {
    var body: String
    var format: MessageFormat
    var kind: MessageKind
    var attachmentIDs: [UUID]

    enum CodingKeys: String, CodingKey, CaseIterable {
        case body, format, kind
        case attachmentIDs = "attachment_ids"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        body = try container.decode(String.self, forKey: .body)
        format = try container.decodeIfPresent(MessageFormat.self, forKey: .format) ?? .text
        kind = try container.decodeIfPresent(MessageKind.self, forKey: .kind) ?? .reply
        attachmentIDs = try container.decodeIfPresent([UUID].self, forKey: .attachmentIDs) ?? []
    }
}

/// The body of `PATCH /api/v1/tickets/{id}`: absent fields stay, `null` clears.
struct TicketChanges: StrictBody, Sendable {
    var subject: String?
    var status: TicketStatus?
    var priority: TicketPriority?
    var department: Patch<UUID>
    var assigneeID: Patch<UUID>
    var teamID: Patch<UUID>
    var labels: [String]?
    var cc: [Strict<EmailInput>]?
    /// Merged into the current values; a `null` value clears that field.
    var customFields: [String: JSONValue]?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case subject, status, priority, department, labels, cc
        case assigneeID = "assignee_id"
        case teamID = "team_id"
        case customFields = "custom_fields"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        subject = try container.decodeIfPresent(String.self, forKey: .subject)
        status = try container.decodeIfPresent(TicketStatus.self, forKey: .status)
        priority = try container.decodeIfPresent(TicketPriority.self, forKey: .priority)
        department = try Patch(container, .department)
        assigneeID = try Patch(container, .assigneeID)
        teamID = try Patch(container, .teamID)
        labels = try container.decodeIfPresent([String].self, forKey: .labels)
        cc = try container.decodeIfPresent([Strict<EmailInput>].self, forKey: .cc)
        customFields = try container.decodeIfPresent([String: JSONValue].self, forKey: .customFields)
    }
}

/// Rules on ticket fields shared by creates and updates.
enum TicketRules {
    static let maximumSubjectLength = 500
    /// Message bodies are limited to 256 KiB of UTF-8 (before sanitizing).
    static let maximumBodyBytes = 256 * 1024
    static let maximumLabels = 20
    static let maximumCC = 20

    /// The trimmed subject, or a field error.
    static func subject(_ raw: String) throws -> String {
        let subject = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...maximumSubjectLength).contains(subject.count), !subject.unicodeScalars.contains(where: { $0.value < 0x20 }) else {
            throw TicketsError.invalidInput([.init(field: "subject", message: "1 to \(maximumSubjectLength) characters on one line.")])
        }
        return subject
    }

    /// Labels lowercased and de-duplicated: letters, digits, `-`, `_`, `:`; 1–50 characters each.
    static func labels(_ raw: [String]) throws -> [String] {
        let labels = Array(Set(raw.map { $0.lowercased() })).sorted()
        guard labels.count <= maximumLabels, labels.allSatisfy({ label in
            (1...50).contains(label.count) && label.allSatisfy { $0.isLetter || $0.isNumber || "-_:".contains($0) }
        }) else {
            throw TicketsError.invalidInput([.init(field: "labels", message: "At most \(maximumLabels) labels of 1–50 letters, digits, '-', '_' or ':'.")])
        }
        return labels
    }

    /// A message body prepared for storage: sanitized (HTML), card numbers masked; with its
    /// searchable text and the number of card numbers masked.
    static func body(_ message: NewMessage, redactor: CardRedactor, field: String) throws -> (stored: String, text: String, redactions: Int) {
        guard message.body.utf8.count <= maximumBodyBytes else {
            throw TicketsError.invalidInput([.init(field: field, message: "At most \(maximumBodyBytes) bytes.")])
        }
        let prepared: (stored: String, text: String, redactions: Int)
        switch message.format {
        case .text:
            let (redacted, count) = redactor.redact(message.body)
            prepared = (redacted, redacted, count)
        case .html:
            let (redacted, count) = redactor.redact(HTMLSanitizer().sanitize(message.body))
            prepared = (redacted, HTMLSanitizer.text(of: redacted), count)
        }
        guard !prepared.text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty || !message.attachmentIDs.isEmpty else {
            throw TicketsError.invalidInput([.init(field: field, message: "The message is empty.")])
        }
        return prepared
    }

    /// Custom-field values checked against the tenant's definitions (text card-redacted); the
    /// result replaces `current`. On create (`creating`), required fields must be present.
    static func customFields(_ input: [String: JSONValue], current: [String: JSONValue], definitions: [CustomFieldDefinition],
                             creating: Bool, redactor: CardRedactor) throws -> (values: [String: JSONValue], redactions: Int) {
        var values = current
        var errors: [(String, String)] = []
        var redactions = 0
        for (key, value) in input.sorted(by: { $0.key < $1.key }) {
            guard let definition = definitions.first(where: { $0.key == key }) else {
                errors.append(("custom_fields.\(key)", "No such custom field."))
                continue
            }
            if let problem = definition.validate(value) {
                errors.append(("custom_fields.\(key)", problem))
                continue
            }
            switch value {
            case .null: values[key] = nil
            case .string(let text) where definition.type == .text:
                let (redacted, count) = redactor.redact(text)
                redactions += count
                values[key] = .string(redacted)
            default: values[key] = value
            }
        }
        if creating {
            for definition in definitions where definition.required && values[definition.key] == nil && !errors.contains(where: { $0.0 == "custom_fields.\(definition.key)" }) {
                errors.append(("custom_fields.\(definition.key)", "This field is required."))
            }
        }
        guard errors.isEmpty else { throw TicketsError.invalidInput(errors.map { .init(field: $0.0, message: $0.1) }) }
        return (values, redactions)
    }
}
