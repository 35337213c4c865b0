import Foundation

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
