import Foundation

/// One person (a customer) as the services know them: identity's user ids, tickets' person ids
/// and e-mail addresses. Backup resolves a request's one key (an id or an address) to all of them
/// by asking each service, then exports or erases by the whole set.
public struct DataSubject: Codable, Sendable, Equatable {
    public var ids: Set<UUID>
    /// Lower-cased, trimmed.
    public var emails: Set<String>

    public init(ids: Set<UUID> = [], emails: Set<String> = []) {
        self.ids = ids
        self.emails = Set(emails.map(Self.normalized))
    }

    /// The subject one key names: an id when it parses as a UUID, otherwise an e-mail address.
    public init(key: String) {
        if let id = UUID(uuidString: key.trimmingCharacters(in: .whitespaces)) {
            self.init(ids: [id])
        } else {
            self.init(emails: [key])
        }
    }

    public var isEmpty: Bool { ids.isEmpty && emails.isEmpty }

    /// Both sets together.
    public func union(_ other: DataSubject) -> DataSubject {
        DataSubject(ids: ids.union(other.ids), emails: emails.union(other.emails))
    }

    /// The ids as the services write them in text columns (`user:<id>`, `person:<id>`, plain), lower-cased.
    public var references: [String] {
        ids.map { $0.uuidString.lowercased() }.sorted().flatMap { [$0, "user:\($0)", "person:\($0)"] }
    }

    static func normalized(_ email: String) -> String {
        email.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(ids: Set(try container.decodeIfPresent([UUID].self, forKey: .ids) ?? []),
                  emails: Set(try container.decodeIfPresent([String].self, forKey: .emails) ?? []))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(ids.map { $0.uuidString.lowercased() }.sorted(), forKey: .ids)
        try container.encode(emails.sorted(), forKey: .emails)
    }

    enum CodingKeys: String, CodingKey { case ids, emails }
}

/// What one service did to erase a person: rows changed or deleted per kind, and (tickets) the
/// tenant's ticket-content policy it applied. Ids and counts only.
public struct DataSubjectErasure: Codable, Sendable, Equatable {
    public var service: String
    public var erased: [String: Int]
    /// `keep` or `delete`: what happened to the tickets the person requested (tickets only).
    public var ticketContent: String?

    public init(service: String, erased: [String: Int], ticketContent: String? = nil) {
        self.service = service
        self.erased = erased
        self.ticketContent = ticketContent
    }

    enum CodingKeys: String, CodingKey {
        case service, erased
        case ticketContent = "ticket_content"
    }
}
