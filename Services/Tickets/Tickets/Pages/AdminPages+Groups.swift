import Foundation
import HTTPTypes
import Hummingbird
import RampartCore
import RampartTransport
import RampartWeb

/// Departments and teams in the admin console (`/admin/helpdesk/departments`,
/// `/admin/helpdesk/teams`): the list with a form to create one; each one's page with its details
/// (a department's SLA targets), its members and its removal. Both kinds are the same pages over
/// their own repository, as the API serves both with `StaffGroupRepository`.
///
/// Members are chosen from the tenant's staff as identity's directory lists them (``StaffDirectory``):
/// active admins, agents and read-only agents by name and role, plus whoever is a member now
/// (a deactivated or unknown member stays listed, checked, so saving never drops someone
/// unseen). The form replaces the member set through the API's own body (`agent_ids`), so the
/// change is the API's, audited as `department.updated`/`team.updated` with the ids before and
/// after. When the directory does not answer, only the current members are offered, by short id.
extension AdminPages {
    /// One kind of staff group and its section of the console.
    struct GroupSection: Sendable {
        let kind: StaffGroupRepository.Kind
        let section: AdminSection

        var path: String { section.path }
        var noun: String { kind == .department ? "department" : "team" }
        /// The route segment under `/admin/helpdesk`.
        var segment: String { String(path.dropFirst(AdminPages.root.count + 1)) }
    }

    static let groups = [GroupSection(kind: .department, section: .departments), GroupSection(kind: .team, section: .teams)]

    func repository(_ group: GroupSection) -> StaffGroupRepository {
        group.kind == .department ? kit.departments : kit.teams
    }

    func registerGroup(_ group: GroupSection, on admin: RouterGroup<ServiceRequestContext>) {
        let groups = repository(group)
        admin.get(RouterPath(group.segment)) { request, context in
            try await groupsPage(group, try adminSession(request, context), form: nil, problem: nil, flashes: TicketsPages.doneFlash(request, Self.done))
        }
        admin.post(RouterPath(group.segment)) { request, context in
            try await submit(request, context, render: { try await groupsPage(group, $0, form: $1, problem: $2, flashes: $3, status: $4) }) { session, form in
                let created = try await groups.save(session.caller, id: nil, try Self.staffGroupBody(form, kind: group.kind, creating: true), requestID: context.requestID)
                return "\(group.path)/\(created.id.uuidString.lowercased())?done=created"
            }
        }
        admin.get(RouterPath(group.segment + "/{id}")) { request, context in
            try await groupPage(group, try adminSession(request, context), id: try Self.id(context), flashes: TicketsPages.doneFlash(request, Self.done))
        }
        admin.post(RouterPath(group.segment + "/{id}")) { request, context in
            let id = try Self.id(context)
            return try await submit(request, context, render: { try await groupPage(group, $0, id: id, form: $1, problem: $2, flashes: $3, status: $4) }) { session, form in
                _ = try await groups.save(session.caller, id: id, try Self.staffGroupBody(form, kind: group.kind, creating: false), requestID: context.requestID,
                                          check: Self.shownVersion(form, of: group.kind == .department ? "this department's name or SLA targets" : "this team's name",
                                                                   \.detailsVersion))
                return "\(group.path)/\(id.uuidString.lowercased())?done=saved"
            }
        }
        admin.post(RouterPath(group.segment + "/{id}/members")) { request, context in
            let id = try Self.id(context)
            return try await submit(request, context, render: { try await groupPage(group, $0, id: id, members: $1, problem: $2, flashes: $3, status: $4) }) { session, form in
                _ = try await groups.find(session.caller, id: id)
                let members = try Self.memberIDs(form)
                let body = try FormProblem.decode(StaffGroupBody.self, ["agent_ids": members.map { $0.uuidString.lowercased() }])
                _ = try await groups.save(session.caller, id: id, body, requestID: context.requestID,
                                          check: Self.shownVersion(form, of: "this \(group.noun)'s members", \.membersVersion))
                return "\(group.path)/\(id.uuidString.lowercased())?done=members"
            }
        }
        admin.post(RouterPath(group.segment + "/{id}/remove")) { request, context in
            let id = try Self.id(context)
            return try await submit(request, context, render: { try await groupPage(group, $0, id: id, problem: $2, flashes: $3, status: $4) }) { session, form in
                _ = try await groups.find(session.caller, id: id)
                let target = try Self.optionalID(form["move_to"], field: "move_to")
                try await groups.remove(session.caller, id: id, moveTo: target, requestID: context.requestID)
                return group.path + "?done=removed"
            }
        }
    }

    /// A group in the list.
    struct GroupRow {
        let href: String
        let name: String
        let firstResponse: String
        let resolution: String
        let members: String
    }

    private func groupsPage(_ group: GroupSection, _ session: TicketsPages.Session, form: FormBody?, problem: FormProblem?, flashes: [Flash],
                            status: HTTPResponse.Status = .ok) async throws -> Response {
        let found = try await repository(group).list(session.caller, after: nil, limit: 200)
        var page = WebPage(title: group.section.label, template: "admin/groups", values: [
            "rows": found.map {
                GroupRow(href: "\(group.path)/\($0.id.uuidString.lowercased())", name: $0.name,
                         firstResponse: Self.minutesLabel($0.firstResponseMinutes), resolution: Self.minutesLabel($0.resolutionMinutes),
                         members: String($0.agentIDs.count))
            },
            "hasSLA": group.kind == .department,
            "noun": group.noun,
            "action": group.path,
            "fields": Self.groupFields(group.kind, form, problem: problem),
        ])
        await decorate(&page, session, group.section, flashes: flashes)
        return kit.pages.response(page, status: status)
    }

    /// A staff member offered in the members form.
    struct MemberChoice {
        let name: String
        let id: String
        let label: String
        let checked: Bool
    }

    /// The group's page. `form` is a refused details form, `members` a refused members form:
    /// each is shown again as it was posted.
    private func groupPage(_ group: GroupSection, _ session: TicketsPages.Session, id: UUID, form: FormBody? = nil, members posted: FormBody? = nil,
                           problem: FormProblem? = nil, flashes: [Flash], status: HTTPResponse.Status = .ok) async throws -> Response {
        let groups = repository(group)
        let current = try await groups.find(session.caller, id: id)
        let others = try await groups.list(session.caller, after: nil, limit: 200).filter { $0.id != id }
        let shown = form ?? FormBody(fields: [
            "name": current.name, "first_response_minutes": current.firstResponseMinutes.map(String.init) ?? "",
            "resolution_minutes": current.resolutionMinutes.map(String.init) ?? "",
        ])
        let staff = await kit.staffNames(session)
        let chosen = posted.map { Set((try? Self.memberIDs($0)) ?? []) } ?? Set(current.agentIDs)
        let membersError = posted == nil ? nil : problem?.error("members")
        let path = "\(group.path)/\(id.uuidString.lowercased())"
        let noTarget = group.kind == .department
            ? "No other department (only when it has no tickets)" : "No team: its tickets keep no team"
        var page = WebPage(title: "\(group.kind == .department ? "Department" : "Team"): \(current.name)", template: "admin/group", values: [
            "action": path,
            "detailsVersion": StaleForm.shown(form, current: current.detailsVersion),
            "membersAction": path + "/members",
            "membersVersion": StaleForm.shown(posted, current: current.membersVersion),
            "removeAction": path + "/remove",
            "noun": group.noun,
            "listPath": group.path,
            "listLabel": group.section.label.lowercased(),
            "fields": Self.groupFields(group.kind, shown, problem: form == nil ? nil : problem),
            "members": Self.memberChoices(staff, current: current.agentIDs, chosen: chosen),
            "directoryAnswered": !staff.members.isEmpty,
            "membersError": membersError ?? "",
            "hasMembersError": membersError != nil,
            "moveTo": FormField("move_to", label: "Move its tickets to", control: .select(
                [.init("", noTarget, selected: true)] + others.map { .init($0.id.uuidString.lowercased(), $0.name, selected: false) }
            ), error: problem?.error("move_to"), hint: group.kind == .department
                ? "A department that still has tickets can only be removed by moving them; they take the new department's SLA."
                : "Tickets of this team move to the team chosen here, or keep no team."),
        ])
        await decorate(&page, session, group.section, flashes: flashes)
        return kit.pages.response(page, status: status)
    }

    /// The members form's choices: the directory's active staff and every current member, by
    /// name (a current member the directory does not know by short id), checked when `chosen`.
    static func memberChoices(_ staff: StaffNames, current: [UUID], chosen: Set<UUID>) -> [MemberChoice] {
        let offered = staff.members.values.filter { $0.active }.map(\.id) + current
        var seen = Set<UUID>()
        return offered.filter { seen.insert($0).inserted }.map { id in
            let member = staff.members[id]
            let role = switch member?.role {
            case "admin": "Admin"
            case "agent": "Agent"
            case "read_only_agent": "Read-only agent"
            default: "Not in the staff directory"
            }
            let state = member.map { $0.active ? "" : ", deactivated" } ?? ""
            return MemberChoice(name: staff.label(id), id: id.uuidString.lowercased(), label: "\(role)\(state)", checked: chosen.contains(id))
        }.sorted { ($0.name.lowercased(), $0.id) < ($1.name.lowercased(), $1.id) }
    }

    /// The member ids a members form checked (`member_{id}` fields).
    static func memberIDs(_ form: FormBody) throws -> [UUID] {
        try form.fields.keys.filter { $0.hasPrefix("member_") && form[$0] != nil }.sorted().map { key in
            guard let id = UUID(uuidString: String(key.dropFirst("member_".count))) else {
                throw FormProblem(summary: "Please choose members from the list.", errors: ["members": "Not one of the choices."])
            }
            return id
        }
    }

    static func groupFields(_ kind: StaffGroupRepository.Kind, _ form: FormBody?, problem: FormProblem?) -> [FormField] {
        let name = FormField("name", label: "Name", value: form?["name"], error: problem?.error("name"), required: true)
        guard kind == .department else { return [name] }
        return [
            name,
            FormField("first_response_minutes", label: "First response due after (minutes)", value: form?["first_response_minutes"],
                      error: problem?.error("first_response_minutes"), hint: "Empty: no first-response target", inputMode: "numeric"),
            FormField("resolution_minutes", label: "Resolution due after (minutes)", value: form?["resolution_minutes"],
                      error: problem?.error("resolution_minutes"), hint: "Empty: no resolution target", inputMode: "numeric"),
        ]
    }

    /// The API's group body from the form: a team has a name only; a department's empty SLA
    /// field clears the target (is left out on creation); anything that is not a whole number
    /// reaches the API's decoder as text, which names the field.
    static func staffGroupBody(_ form: FormBody, kind: StaffGroupRepository.Kind, creating: Bool) throws -> StaffGroupBody {
        var object: [String: Any] = ["name": form["name"] ?? ""]
        for key in kind == .department ? ["first_response_minutes", "resolution_minutes"] : [] {
            let raw = (form[key] ?? "").trimmingCharacters(in: .whitespaces)
            if raw.isEmpty {
                if !creating { object[key] = NSNull() }
            } else {
                object[key] = number(raw)
            }
        }
        return try FormProblem.decode(StaffGroupBody.self, object)
    }

    static func minutesLabel(_ minutes: Int?) -> String {
        guard let minutes else { return "—" }
        return minutes % 60 == 0 ? "\(minutes / 60) h" : "\(minutes) min"
    }
}
