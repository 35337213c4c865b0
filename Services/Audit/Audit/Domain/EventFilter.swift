import Foundation
import Hummingbird
import RampartSecurity

/// What a tenant admin asks the log for: every field optional, all combined with AND.
public struct EventFilter: Sendable, Equatable {
    /// The actor's id (a user, API key or OAuth client).
    public var actor: String?
    /// Any of these actor ids: one person under each form services record them by
    /// (`user:{id}` and the bare id); set by the pages, not by the API's parameters.
    public var anyActor: [String]?
    public var actorType: String?
    /// An exact action (`user.created`) or a family (`auth.*`).
    public var action: String?
    public var resourceType: String?
    public var resourceID: String?
    public var outcome: String?
    /// The actor's IP, matched through its blind index.
    public var ip: String?
    /// `occurred_at` at or after `from` and before `to`.
    public var from: Date?
    public var to: Date?

    public init() {}

    /// The names of the query parameters, in the order links repeat them.
    static let parameters = ["actor", "actor_type", "action", "resource_type", "resource_id", "outcome", "ip", "from", "to"]

    /// Reads and checks the filter's query parameters; an invalid one is named.
    init(query: Parameters) throws {
        func text(_ name: String, _ limit: Int = 200) throws -> String? {
            guard let value = query.get(name) else { return nil }
            guard !value.isEmpty, value.count <= limit else { throw AuditError.invalidQuery(field: name, message: "must be 1 to \(limit) characters") }
            return value
        }
        func date(_ name: String) throws -> Date? {
            guard let value = query.get(name) else { return nil }
            guard let date = try? Date(value, strategy: .iso8601) else { throw AuditError.invalidQuery(field: name, message: "must be an ISO 8601 time such as 2026-01-31T00:00:00Z") }
            return date
        }
        actor = try text("actor")
        // A user is recorded as `user:{id}` by some services and by the bare id by others (and
        // the log keeps what was written): asking for either form finds both.
        if let actor, let user = Self.user(ofActor: actor) {
            anyActor = Self.actorForms(ofUser: user)
            self.actor = nil
        }
        actorType = try text("actor_type", 50)
        action = try text("action", 100)
        if let action, action.range(of: #"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?$"#, options: .regularExpression) == nil {
            throw AuditError.invalidQuery(field: "action", message: "must be an action such as user.created, or a family such as auth.*")
        }
        resourceType = try text("resource_type", 100)
        resourceID = try text("resource_id")
        outcome = try text("outcome", 20)
        if let outcome, !["success", "failure"].contains(outcome) { throw AuditError.invalidQuery(field: "outcome", message: "must be success or failure") }
        ip = try text("ip", 64)
        from = try date("from")
        to = try date("to")
        if let from, let to, from >= to { throw AuditError.invalidQuery(field: "to", message: "must be after from") }
    }

    /// The user an actor id names, in either form (`user:{id}`, a principal's subject, or the bare id).
    static func user(ofActor id: String) -> UUID? {
        Principal.userID(subject: id) ?? UUID(uuidString: id)
    }

    /// Both forms of a user's actor id.
    static func actorForms(ofUser user: UUID) -> [String] {
        [Principal.subject(ofUser: user), user.uuidString.lowercased()]
    }

    /// The exact action asked for, if not a family.
    var exactAction: String? { action.flatMap { $0.hasSuffix(".*") ? nil : $0 } }
    /// The prefix of an action family (`auth.` for `auth.*`).
    var actionPrefix: String? { action.flatMap { $0.hasSuffix(".*") ? String($0.dropLast()) : nil } }

    /// The filter as query parameters, for `next` links.
    func queryItems(_ query: Parameters) -> [String] {
        Self.parameters.compactMap { name in
            query.get(name).map { "\(name)=\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }
        }
    }
}
