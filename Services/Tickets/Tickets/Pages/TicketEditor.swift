import Foundation
import RampartTransport
import RampartWeb

/// The agent's "Change" form of a ticket: status (only moves the ticket may make), priority,
/// department, assignee, team, labels and custom fields; and the API change (`PATCH` body) a
/// posted form asks for, holding only what differs from the ticket.
struct TicketEditor {
    let ticket: TicketView
    let departments: [(UUID, String)]
    let teams: [(UUID, String)]
    /// Agents of the ticket's department, offered as assignees.
    let members: [UUID]
    let definitions: [CustomFieldDefinition]
    let viewer: UUID?
    let names: StaffNames

    /// API field names → the form's field ids, for errors.
    static let fieldIDs = [
        "status": "status", "priority": "priority", "department": "department", "assignee_id": "assignee", "team_id": "team", "labels": "labels",
    ]

    /// The form's fields, showing `posted` values (what the user chose) over the ticket's.
    func fields(_ posted: FormBody?, problem: FormProblem?) -> [FormField] {
        func value(_ name: String, _ current: String) -> String { posted?.fields[name] ?? current }
        func select(_ name: String, _ label: String, _ options: [(String, String)], current: String) -> FormField {
            let chosen = value(name, current)
            return FormField(name, label: label, control: .select(options.map { .init($0.0, $0.1, selected: $0.0 == chosen) }), error: problem?.error(name))
        }
        let statuses = TicketStatus.allCases.filter { ticket.status.canMove(to: $0) }
        var assignees: [(String, String)] = [("", "Unassigned")]
        if let viewer { assignees.append((viewer.uuidString.lowercased(), "Me")) }
        assignees += assigneeChoices()
        var fields = [
            select("status", "Status", statuses.map { ($0.rawValue, PageModels.statusLabel($0)) }, current: ticket.status.rawValue),
            select("priority", "Priority", TicketPriority.allCases.map { ($0.rawValue, PageModels.priorityLabel($0)) }, current: ticket.priority.rawValue),
            select("department", "Department", [("", "None")] + departments.map { ($0.0.uuidString.lowercased(), $0.1) },
                   current: ticket.departmentID?.uuidString.lowercased() ?? ""),
            select("assignee", "Assignee", assignees, current: ticket.assigneeID?.uuidString.lowercased() ?? ""),
            select("team", "Team", [("", "None")] + teams.map { ($0.0.uuidString.lowercased(), $0.1) }, current: ticket.teamID?.uuidString.lowercased() ?? ""),
            FormField("labels", label: "Labels", value: value("labels", ticket.labels.joined(separator: ", ")), error: problem?.error("labels"),
                      hint: "Comma-separated: letters, digits, - _ :"),
        ]
        for definition in definitions {
            let name = "cf_" + definition.key
            let current = ticket.customFields[definition.key].map(Self.text) ?? ""
            let error = problem?.error("custom_fields.\(definition.key)")
            switch definition.type {
            case .singleChoice:
                fields.append(select(name, definition.label, [("", "—")] + definition.options.map { ($0, $0) }, current: current))
            case .multipleChoice:
                fields.append(FormField(name, label: definition.label, value: value(name, current), error: error,
                                        hint: "Comma-separated, from: \(definition.options.joined(separator: ", "))"))
            case .date:
                fields.append(FormField(name, label: definition.label, control: .input(type: "date"), value: value(name, current), error: error))
            case .number:
                fields.append(FormField(name, label: definition.label, value: value(name, current), error: error, inputMode: "decimal"))
            case .text:
                fields.append(FormField(name, label: definition.label, value: value(name, current), error: error))
            }
        }
        return fields
    }

    /// The department's members identity still lets sign in, and the current assignee, by name
    /// (the viewer is "Me", first): sorted by name, a name two people share followed by a short id.
    func assigneeChoices() -> [(String, String)] {
        var seen: Set<UUID> = viewer.map { [$0] } ?? []
        var people: [(id: UUID, name: String)] = []
        for agent in [ticket.assigneeID].compactMap({ $0 }) + members.filter(names.isActive) where seen.insert(agent).inserted {
            people.append((agent, names.label(agent)))
        }
        let shared = Dictionary(grouping: people, by: \.name).filter { $0.value.count > 1 }
        return people
            .map { person in (person.id, shared[person.name] == nil ? person.name : "\(person.name) (\(PageModels.shortID(person.id.uuidString)))") }
            .sorted { $0.1.localizedStandardCompare($1.1) == .orderedAscending }
            .map { ($0.0.uuidString.lowercased(), $0.1) }
    }

    /// The `PATCH` body of what `form` changes on `ticket` (empty: nothing to do).
    static func changes(_ form: FormBody, from ticket: TicketView, definitions: [CustomFieldDefinition]) throws -> [String: Any] {
        var changes: [String: Any] = [:]
        if let status = form.fields["status"], status != ticket.status.rawValue { changes["status"] = status }
        if let priority = form.fields["priority"], priority != ticket.priority.rawValue { changes["priority"] = priority }
        for (name, key, current) in [("department", "department", ticket.departmentID), ("assignee", "assignee_id", ticket.assigneeID), ("team", "team_id", ticket.teamID)] {
            guard let chosen = form.fields[name] else { continue }
            if chosen != (current?.uuidString.lowercased() ?? "") { changes[key] = chosen.isEmpty ? NSNull() : chosen }
        }
        if let raw = form.fields["labels"] {
            let labels = raw.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            if labels.map({ $0.lowercased() }).sorted() != ticket.labels.sorted() { changes["labels"] = labels }
        }
        var custom: [String: Any] = [:]
        var errors: [String: String] = [:]
        for definition in definitions {
            guard let raw = form.fields["cf_" + definition.key]?.trimmingCharacters(in: .whitespaces) else { continue }
            let current = ticket.customFields[definition.key].map(text) ?? ""
            guard raw != current else { continue }
            if raw.isEmpty {
                custom[definition.key] = NSNull()
                continue
            }
            switch definition.type {
            case .number:
                guard let number = Double(raw) else { errors["cf_" + definition.key] = "Enter a number."; continue }
                custom[definition.key] = number
            case .multipleChoice:
                custom[definition.key] = raw.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            case .text, .date, .singleChoice:
                custom[definition.key] = raw
            }
        }
        guard errors.isEmpty else { throw FormProblem(summary: "Please correct the fields marked below.", errors: errors) }
        if !custom.isEmpty { changes["custom_fields"] = custom }
        return changes
    }

    /// A custom field's value as the form shows it.
    static func text(_ value: JSONValue) -> String {
        switch value {
        case .string(let text): text
        case .number(let number): number.rounded() == number && abs(number) < 1e15 ? String(Int64(number)) : String(number)
        case .bool(let flag): flag ? "true" : "false"
        case .array(let items): items.map(text).joined(separator: ", ")
        case .null, .object: ""
        }
    }
}
