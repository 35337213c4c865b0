import Foundation
import HTTPTypes
import Hummingbird
import RampartCore
import RampartTransport
import RampartWeb

/// The agent console at `/agent`: ticket lists (views mine / unassigned / all / by department,
/// filters by status and priority, sorting, search, cursor paging), the ticket page (the
/// conversation, reply and note composers with attachments, status, priority, department,
/// assignee, team, labels and custom fields) and the agent's own page. Staff only; customers
/// are sent to the portal.
struct AgentPages: Sendable {
    let kit: TicketsPages

    func register(on agent: RouterGroup<ServiceRequestContext>) {
        agent.get { request, context in try await list(request, context) }
        agent.get("tickets") { request, context in try await list(request, context) }
        agent.get("tickets/{id}") { request, context -> Response in
            let session = try staff(request, context)
            let id = try TicketsPages.ticketID(context)
            return try await ticketPage(session, id: id, draft: Draft(), flashes: TicketsPages.doneFlash(request, Self.done))
        }
        agent.post("tickets/{id}") { request, context in try await update(request, context) }
        agent.post("messages/{id}") { request, context in try await send(request, context) }
        agent.get("attachments/{id}") { request, context in try await kit.download(context, try staff(request, context)) }
        agent.get("me") { request, context in try await mePage(try staff(request, context)) }
    }

    static let done = ["saved": "Changes saved.", "replied": "Reply sent.", "noted": "Internal note added."]

    /// The session of a staff member; customers belong in the portal.
    private func staff(_ request: Request, _ context: ServiceRequestContext) throws -> TicketsPages.Session {
        let session = try kit.session(request, context)
        guard session.caller.isStaff else { throw PageRedirect(location: "/portal") }
        return session
    }

    // MARK: Lists

    /// The saved views of the list.
    enum View: String, CaseIterable {
        case mine, unassigned, all

        var label: String {
            switch self {
            case .mine: "Assigned to me"
            case .unassigned: "Unassigned"
            case .all: "All tickets"
            }
        }
    }

    /// What the list's own query string may hold; the rest is ignored.
    static let listParameters = ["status", "priority", "department", "sort", "q", "cursor"]

    private func list(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let session = try staff(request, context)
        let given = FormBody(fields: FormBody.parseQuery(request))
        let view = given["view"].flatMap(View.init(rawValue:)) ?? .mine
        let kept = Self.listParameters.compactMap { name in given[name].map { (name, $0) } }
        var parameters = kept.filter { $0.0 != "q" } + [("limit", "25")]
        switch view {
        case .mine: parameters.append(("assignee", session.userID?.uuidString.lowercased() ?? "none"))
        case .unassigned: parameters.append(("assignee", "none"))
        case .all: break
        }
        let words = given["q"]
        if let words { parameters.append(("q", words)) }
        let departments = try await kit.departmentNames(session.caller)
        let staff = await kit.staffNames(session)
        var rows: [PageModels.Row] = []
        var next: String?
        var problem: FormProblem?
        do {
            let (found, cursor) = try await kit.tickets.list(session.caller, try TicketQuery(parameters, search: words != nil))
            let names = Dictionary(departments, uniquingKeysWith: { first, _ in first })
            rows = found.map { PageModels.row($0, href: "/agent/tickets/\($0.id.uuidString.lowercased())", departments: names, viewer: session.principal.subject,
                                            names: staff) }
            next = cursor.map { cursor in
                "/agent/tickets" + TicketsPages.query([("view", view.rawValue)] + kept.filter { $0.0 != "cursor" } + [("cursor", cursor.encoded)])
            }
        } catch {
            guard let form = FormProblem(error) else { throw error }
            problem = form
        }
        let department = given["department"]
        var views = View.allCases.map { item in
            Link(item.label, "/agent/tickets" + TicketsPages.query([("view", item.rawValue)]), current: item == view && department == nil && words == nil)
        }
        views += departments.prefix(10).map { id, name in
            let value = id.uuidString.lowercased()
            return Link(name, "/agent/tickets" + TicketsPages.query([("view", View.all.rawValue), ("department", value)]), current: department == value && view == .all)
        }
        var page = WebPage(title: words.map { "Search: \($0)" } ?? view.label, template: "agent/list", values: [
            "views": views,
            "view": view.rawValue,
            "filters": filters(given, departments: departments, problem: problem),
            "rows": rows,
            "caption": rows.isEmpty ? "No tickets" : "\(rows.count) ticket\(rows.count == 1 ? "" : "s") on this page",
            "pagination": Pagination(first: given["cursor"] == nil ? nil : "/agent/tickets" + TicketsPages.query([("view", view.rawValue)] + kept.filter { $0.0 != "cursor" }),
                                     next: next),
        ])
        decorate(&page, session, staff, section: .tickets)
        if let problem { page.flashes = [Flash(error: problem.summary, items: problem.errors.values.sorted())] }
        return kit.pages.response(page, status: problem == nil ? .ok : .unprocessableContent)
    }

    /// The filter form: search, status, priority, department and sort, showing what was asked.
    private func filters(_ given: FormBody, departments: [(UUID, String)], problem: FormProblem?) -> [FormField] {
        func options(_ all: [(String, String)], _ name: String, any: String) -> FormField.Control {
            .select([.init("", any, selected: given[name] == nil)] + all.map { .init($0.0, $0.1, selected: given[name] == $0.0) })
        }
        return [
            FormField("q", label: "Search", control: .input(type: "search"), value: given["q"], error: problem?.error("q"),
                      hint: "Every word must appear (press / to jump here)", id: "search"),
            FormField("status", label: "Status", control: options(TicketStatus.allCases.map { ($0.rawValue, PageModels.statusLabel($0)) }, "status", any: "Any status"),
                      error: problem?.error("status")),
            FormField("priority", label: "Priority", control: options(TicketPriority.allCases.map { ($0.rawValue, PageModels.priorityLabel($0)) }, "priority", any: "Any priority"),
                      error: problem?.error("priority")),
            FormField("department", label: "Department", control: options(departments.map { ($0.0.uuidString.lowercased(), $0.1) }, "department", any: "Any department"),
                      error: problem?.error("department")),
            FormField("sort", label: "Sort", control: .select(TicketQuery.Sort.allCases.map { sort in
                .init(sort.rawValue, Self.sortLabel(sort), selected: (given["sort"] ?? TicketQuery.Sort.updatedDescending.rawValue) == sort.rawValue)
            }), error: problem?.error("sort")),
        ]
    }

    static func sortLabel(_ sort: TicketQuery.Sort) -> String {
        switch sort {
        case .updatedDescending: "Recently updated"
        case .updatedAscending: "Least recently updated"
        case .createdDescending: "Newest"
        case .createdAscending: "Oldest"
        }
    }

    /// The header (who is signed in, by name), the shortcuts script and the CSRF token every agent page has.
    private func decorate(_ page: inout WebPage, _ session: TicketsPages.Session, _ staff: StaffNames, section: AgentSection) {
        page.width = .wide
        page.script = true
        page.csrfToken = session.csrfToken
        page.header = .agent(tenant: session.principal.tenantSlug.rawValue, who: Self.who(session, staff), current: section)
    }

    /// The signed-in user's name, or their role and short id when identity did not name them.
    static func who(_ session: TicketsPages.Session, _ staff: StaffNames) -> String {
        if let id = session.userID, let member = staff.members[id] { return member.name }
        return PageHeader.unnamedStaff(isAdmin: session.principal.kind == .admin, subject: session.principal.subject)
    }

    // MARK: The ticket page

    /// What the user typed into the page's forms, kept when a form is shown again.
    struct Draft {
        var reply = ""
        var note = ""
        var properties: FormBody?
        var problem: FormProblem?
    }

    private func ticketPage(_ session: TicketsPages.Session, id: UUID, draft: Draft, flashes: [Flash],
                            status: HTTPResponse.Status = .ok) async throws -> Response {
        let caller = session.caller
        let ticket = try await kit.tickets.find(caller, id: id)
        let conversation = try await kit.messages.list(caller, ticket: id)
        let departments = try await kit.departmentNames(caller)
        let teams = try await kit.teams.list(caller, after: nil, limit: 100).map { ($0.id, $0.name) }
        let members = try await ticket.departmentID.asyncMap { try await kit.departments.find(caller, id: $0).agentIDs } ?? []
        let definitions = try await kit.customFields.list(caller)
        let staff = await kit.staffNames(session)
        let editor = TicketEditor(ticket: ticket, departments: departments, teams: teams, members: members, definitions: definitions,
                                  viewer: session.userID, names: staff)
        let names = Dictionary(departments, uniquingKeysWith: { first, _ in first })
        var facts = [
            PageModels.Fact(label: "Status", value: PageModels.statusLabel(ticket.status)),
            PageModels.Fact(label: "Priority", value: PageModels.priorityLabel(ticket.priority)),
            PageModels.Fact(label: "Requester", value: ticket.requester.map(PageModels.requesterName) ?? "—"),
            PageModels.Fact(label: "Department", value: ticket.departmentID.map { names[$0] ?? "Other department" } ?? "—"),
            PageModels.Fact(label: "Assignee", value: PageModels.assigneeLabel(ticket.assigneeID, viewer: session.principal.subject, names: staff)),
            PageModels.Fact(label: "Labels", value: ticket.labels.isEmpty ? "—" : ticket.labels.joined(separator: ", ")),
            PageModels.Fact(label: "Created", value: PageModels.time(ticket.createdAt)),
            PageModels.Fact(label: "Updated", value: PageModels.time(ticket.updatedAt)),
        ]
        if let due = ticket.firstResponseDueAt, ticket.firstRespondedAt == nil { facts.append(.init(label: "First response due", value: PageModels.time(due))) }
        if let due = ticket.resolutionDueAt, ticket.resolvedAt == nil { facts.append(.init(label: "Resolution due", value: PageModels.time(due))) }
        var page = WebPage(title: ticket.subject, template: "agent/ticket", values: [
            "ticketID": id.uuidString.lowercased(),
            "version": String(ticket.version),
            "facts": facts,
            "messages": PageModels.messages(conversation, ticket: ticket, viewer: session.principal.subject, staffView: true, names: staff,
                                           attachmentBase: "/agent/attachments"),
            "canWrite": caller.canWrite,
            "isOpen": ticket.status != .closed,
            "reply": FormField("body", label: "Public reply (the customer sees it)", control: .textarea(rows: 6), value: draft.reply,
                               error: draft.problem?.error("reply-body"), id: "reply-body"),
            "note": FormField("body", label: "Internal note (staff only)", control: .textarea(rows: 4), value: draft.note,
                              error: draft.problem?.error("note-body"), id: "note-body"),
            "properties": editor.fields(draft.properties, problem: draft.problem),
        ])
        decorate(&page, session, staff, section: .tickets)
        page.flashes = flashes
        return kit.pages.response(page, status: status)
    }

    private func update(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let session = try staff(request, context)
        let id = try TicketsPages.ticketID(context)
        let posted = await PageForm.read(request)
        guard let form = posted, FormCSRF.accepts(form.fields, from: session.principal) else {
            return try await ticketPage(session, id: id, draft: Draft(properties: posted?.fields), flashes: [TicketsPages.expired], status: .forbidden)
        }
        let ticket = try await kit.tickets.find(session.caller, id: id)
        let definitions = try await kit.customFields.list(session.caller)
        do {
            let changes = try TicketEditor.changes(form.fields, from: ticket, definitions: definitions)
            if !changes.isEmpty {
                let input = try FormProblem.decode(TicketChanges.self, changes, fields: TicketEditor.fieldIDs)
                _ = try await kit.tickets.update(session.caller, id: id, input, expected: EntityTag.Precondition(tags: [form.fields[StaleForm.fieldName] ?? ""]), requestID: context.requestID)
            }
            return PageRedirect.seeOther("/agent/tickets/\(id.uuidString.lowercased())?done=saved")
        } catch TicketsError.versionMismatch {
            return try await ticketPage(session, id: id, draft: Draft(properties: form.fields), flashes: [
                Flash(error: "Someone changed this ticket after you opened it. The page now shows the current ticket; your choices are kept below — check them and save again."),
            ], status: .conflict)
        } catch {
            guard let problem = FormProblem(error, fields: TicketEditor.fieldIDs) else { throw error }
            return try await ticketPage(session, id: id, draft: Draft(properties: form.fields, problem: problem),
                                        flashes: [Flash(error: problem.summary)], status: .unprocessableContent)
        }
    }

    /// A reply (`?kind=reply`) or internal note (`?kind=note`), with files.
    private func send(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let session = try staff(request, context)
        let id = try TicketsPages.ticketID(context)
        let kind = FormBody.parseQuery(request)["kind"].flatMap(MessageKind.init(rawValue:)) ?? .reply
        let form = await PageForm.read(request)
        let body = form?.fields["body"] ?? ""
        let draft = kind == .note ? Draft(note: body) : Draft(reply: body)
        guard let form, FormCSRF.accepts(form.fields, from: session.principal) else {
            return try await ticketPage(session, id: id, draft: draft, flashes: [TicketsPages.expired], status: .forbidden)
        }
        let field = kind == .note ? "note-body" : "reply-body"
        do {
            let message = try await kit.send(kind, body: body, files: form.files, ticket: id, session, requestID: context.requestID)
            return PageRedirect.seeOther("/agent/tickets/\(id.uuidString.lowercased())?done=\(kind == .note ? "noted" : "replied")#message-\(message.id.uuidString.lowercased())")
        } catch let problem as FormProblem {
            let moved = FormProblem(summary: problem.summary, errors: problem.errors.reduce(into: [:]) { result, item in
                result[item.key == "body" || item.key == "files" || item.key == "attachment_ids" ? field : item.key] = item.value
            })
            var kept = draft
            kept.problem = moved
            return try await ticketPage(session, id: id, draft: kept, flashes: [Flash(error: problem.summary)], status: .unprocessableContent)
        }
    }

    // MARK: Me

    private func mePage(_ session: TicketsPages.Session) async throws -> Response {
        let principal = session.principal
        let me = session.userID?.uuidString.lowercased() ?? "none"
        var counts: [Link] = []
        for (label, statuses) in [("Open tickets assigned to me", "new,open,awaiting_customer,awaiting_agent"), ("Resolved or closed", "resolved,closed")] {
            let (found, next) = try await kit.tickets.list(session.caller, try TicketQuery([("assignee", me), ("status", statuses), ("limit", "100")], search: false))
            counts.append(Link("\(label): \(found.count)\(next == nil ? "" : "+")", "/agent/tickets" + TicketsPages.query([("view", View.mine.rawValue), ("status", statuses)])))
        }
        let staff = await kit.staffNames(session)
        var page = WebPage(title: "Me", template: "agent/me", values: [
            "facts": [
                PageModels.Fact(label: "Name", value: Self.who(session, staff)),
                PageModels.Fact(label: "User id", value: principal.subject),
                PageModels.Fact(label: "Role", value: principal.roles.joined(separator: ", ")),
                PageModels.Fact(label: "Signed in with", value: principal.authenticationMethod.rawValue),
                PageModels.Fact(label: "This session", value: principal.sessionID.map(PageModels.shortID) ?? "— (not a browser session)"),
                PageModels.Fact(label: "Permissions here", value: principal.scopes.filter { $0.hasPrefix("tickets:") }.joined(separator: ", ")),
            ],
            "counts": counts,
            "isAdmin": principal.kind == .admin,
        ])
        decorate(&page, session, staff, section: .me)
        return kit.pages.response(page)
    }
}
