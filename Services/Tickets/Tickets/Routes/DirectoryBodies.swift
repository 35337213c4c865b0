import Foundation
import RampartCore
import RampartTransport

/// `POST /api/v1/people`.
struct NewPerson: StrictBody, Sendable {
    var email: String?
    var name: String
    var organizationID: UUID?
    var userID: UUID?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case email, name
        case organizationID = "organization_id"
        case userID = "user_id"
    }
}

/// `PATCH /api/v1/people/{id}`: absent fields stay, `null` clears.
struct PersonChanges: StrictBody, Sendable {
    var email: Patch<String>
    var name: String?
    var organizationID: Patch<UUID>

    enum CodingKeys: String, CodingKey, CaseIterable {
        case email, name
        case organizationID = "organization_id"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        email = try Patch(container, .email)
        name = try container.decodeIfPresent(String.self, forKey: .name)
        organizationID = try Patch(container, .organizationID)
    }
}

/// `POST /api/v1/people/{id}/merge`: the person that remains.
struct PersonMerge: StrictBody, Sendable {
    var into: UUID
    enum CodingKeys: String, CodingKey, CaseIterable { case into }
}

/// `POST` and `PATCH` of an organization.
struct OrganizationBody: StrictBody, Sendable {
    var name: String
    enum CodingKeys: String, CodingKey, CaseIterable { case name }
}

/// `POST` and `PATCH` of a department or team; SLA fields are for departments only.
struct StaffGroupBody: StrictBody, Sendable {
    var name: String?
    var firstResponseMinutes: Patch<Int>
    var resolutionMinutes: Patch<Int>
    var agentIDs: [UUID]?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name
        case firstResponseMinutes = "first_response_minutes"
        case resolutionMinutes = "resolution_minutes"
        case agentIDs = "agent_ids"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decodeIfPresent(String.self, forKey: .name)
        firstResponseMinutes = try Patch(container, .firstResponseMinutes)
        resolutionMinutes = try Patch(container, .resolutionMinutes)
        agentIDs = try container.decodeIfPresent([UUID].self, forKey: .agentIDs)
    }
}

/// `POST /api/v1/custom-fields`.
struct NewCustomField: StrictBody, Sendable {
    var key: String
    var label: String
    var type: CustomFieldDefinition.FieldType
    var options: [String]?
    var required: Bool?

    enum CodingKeys: String, CodingKey, CaseIterable { case key, label, type, options, required }
}

/// `PATCH /api/v1/custom-fields/{id}`.
struct CustomFieldChanges: StrictBody, Sendable {
    var label: String?
    var options: [String]?
    var required: Bool?

    enum CodingKeys: String, CodingKey, CaseIterable { case label, options, required }
}

/// `PATCH /api/v1/tickets/settings`: absent fields stay.
struct SettingsChanges: StrictBody, Sendable {
    var customersSeeOrganization: Bool?
    var cardKeepFirst: Int?
    var cardKeepLast: Int?
    var attachmentMaxBytes: Int?
    var recycleBinDays: Int?
    var closedTicketDays: Int?
    var erasureTicketContent: ErasureTicketContent?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case customersSeeOrganization = "customers_see_organization"
        case cardKeepFirst = "card_keep_first"
        case cardKeepLast = "card_keep_last"
        case attachmentMaxBytes = "attachment_max_bytes"
        case recycleBinDays = "recycle_bin_days"
        case closedTicketDays = "closed_ticket_days"
        case erasureTicketContent = "erasure_ticket_content"
    }
}

/// Checks shared by the directory's bodies.
enum DirectoryRules {
    /// A trimmed display name of 1…`maximum` characters on one line.
    static func name(_ raw: String, field: String = "name", maximum: Int = 200) throws -> String {
        let name = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...maximum).contains(name.count), !name.unicodeScalars.contains(where: { $0.value < 0x20 }) else {
            throw TicketsError.invalidInput([.init(field: field, message: "1 to \(maximum) characters on one line.")])
        }
        return name
    }

    static func email(_ raw: String) throws -> String {
        let email = raw.trimmingCharacters(in: .whitespaces).lowercased()
        guard EmailInput.isEmail(email) else { throw TicketsError.invalidInput([.init(field: "email", message: "Not an email address.")]) }
        return email
    }

    static func minutes(_ patch: Patch<Int>, field: String) throws {
        if case .set(let minutes) = patch, !(1...525_600).contains(minutes) {
            throw TicketsError.invalidInput([.init(field: field, message: "1 to 525600 minutes (one year).")])
        }
    }

    /// Choice options: 1–100 distinct labels of 1–100 characters.
    static func options(_ options: [String]) throws -> [String] {
        let trimmed = options.map { $0.trimmingCharacters(in: .whitespaces) }
        guard (1...100).contains(trimmed.count), Set(trimmed).count == trimmed.count, trimmed.allSatisfy({ (1...100).contains($0.count) }) else {
            throw TicketsError.invalidInput([.init(field: "options", message: "1 to 100 distinct options of 1–100 characters.")])
        }
        return trimmed
    }
}

extension SettingsChanges {
    /// `current` with these changes, checked: the one rule of `PATCH /api/v1/tickets/settings`
    /// and of the admin console's settings form.
    func applied(to current: TicketSettings) throws -> TicketSettings {
        var next = current
        next.customersSeeOrganization = customersSeeOrganization ?? next.customersSeeOrganization
        next.cardKeepFirst = cardKeepFirst ?? next.cardKeepFirst
        next.cardKeepLast = cardKeepLast ?? next.cardKeepLast
        next.attachmentMaxBytes = attachmentMaxBytes ?? next.attachmentMaxBytes
        next.recycleBinDays = recycleBinDays ?? next.recycleBinDays
        next.closedTicketDays = closedTicketDays ?? next.closedTicketDays
        next.erasureTicketContent = erasureTicketContent ?? next.erasureTicketContent
        var errors: [ProblemDetailsField] = []
        if !(0...6).contains(next.cardKeepFirst) { errors.append(.init(field: "card_keep_first", message: "0 to 6 digits.")) }
        if !(0...4).contains(next.cardKeepLast) { errors.append(.init(field: "card_keep_last", message: "0 to 4 digits.")) }
        if !(1024...TicketSettings.attachmentCeiling).contains(next.attachmentMaxBytes) {
            errors.append(.init(field: "attachment_max_bytes", message: "1024 to \(TicketSettings.attachmentCeiling) bytes."))
        }
        if !(1...3_650).contains(next.recycleBinDays) { errors.append(.init(field: "recycle_bin_days", message: "1 to 3650 days.")) }
        if next.closedTicketDays != 0, !(30...3_650).contains(next.closedTicketDays) {
            errors.append(.init(field: "closed_ticket_days", message: "30 to 3650 days, or 0 to keep closed tickets."))
        }
        guard errors.isEmpty else { throw TicketsError.invalidInput(errors) }
        return next
    }
}

extension TicketSettings {
    /// The settings' version (the API's `ETag`, the console form's hidden field): their content.
    var version: String { EntityTag.version(of: self) }
}

extension CustomFieldDefinition {
    /// The field's version (the API's `ETag`, the console form's hidden field): its content.
    var version: String { EntityTag.version(of: self) }
}

extension NewCustomField {
    /// The definition this body asks for, checked (the API's `POST` and the admin console's form).
    func definition() throws -> CustomFieldDefinition {
        guard key.range(of: "^[a-z][a-z0-9_]{0,39}$", options: .regularExpression) != nil else {
            throw TicketsError.invalidInput([.init(field: "key", message: "1–40 of a-z, 0-9 and _, starting with a letter.")])
        }
        let choices = type == .singleChoice || type == .multipleChoice
        guard choices == (options != nil) else {
            throw TicketsError.invalidInput([.init(field: "options", message: choices ? "Required for choice fields." : "Only choice fields have options.")])
        }
        return CustomFieldDefinition(id: UUIDv7.make(), key: key, label: try DirectoryRules.name(label, field: "label", maximum: 100),
                                     type: type, options: try options.map(DirectoryRules.options) ?? [], required: required ?? false)
    }
}

extension CustomFieldRepository {
    /// Applies `changes` to field `id`, checked as the API checks them; `check` sees the field as stored.
    func update(_ caller: Caller, id: UUID, _ changes: CustomFieldChanges, requestID: String,
                check: (CustomFieldDefinition) throws -> Void = { _ in }) async throws -> CustomFieldDefinition {
        try await update(caller, id: id, label: try changes.label.map { try DirectoryRules.name($0, field: "label", maximum: 100) },
                         options: try changes.options.map(DirectoryRules.options), required: changes.required, requestID: requestID, check: check)
    }
}

extension StaffGroupRepository {
    /// Creates (`id` nil: a name is required) or changes a department or team from `body`, with
    /// the API's checks: SLA only on departments, minutes in range, at most 500 agents.
    /// A change's `check` sees the group as stored.
    func save(_ caller: Caller, id: UUID?, _ body: StaffGroupBody, requestID: String,
              check: (StaffGroup) throws -> Void = { _ in }) async throws -> StaffGroup {
        if id == nil, body.name == nil { throw TicketsError.invalidInput([.init(field: "name", message: "Required.")]) }
        if kind == .team {
            let refused = [body.firstResponseMinutes.isAbsent ? nil : "first_response_minutes", body.resolutionMinutes.isAbsent ? nil : "resolution_minutes"].compactMap { $0 }
            guard refused.isEmpty else { throw TicketsError.invalidInput(refused.map { .init(field: $0, message: "Teams have no SLA; set it on a department.") }) }
        }
        try DirectoryRules.minutes(body.firstResponseMinutes, field: "first_response_minutes")
        try DirectoryRules.minutes(body.resolutionMinutes, field: "resolution_minutes")
        guard (body.agentIDs ?? []).count <= 500 else { throw TicketsError.invalidInput([.init(field: "agent_ids", message: "At most 500 agents.")]) }
        return try await save(caller, id: id, name: try body.name.map { try DirectoryRules.name($0, maximum: 100) },
                              firstResponseMinutes: body.firstResponseMinutes, resolutionMinutes: body.resolutionMinutes,
                              agents: body.agentIDs, requestID: requestID, check: check)
    }
}
