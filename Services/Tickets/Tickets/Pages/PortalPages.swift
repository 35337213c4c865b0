import Foundation
import HTTPTypes
import Hummingbird
import RampartCore
import RampartTransport
import RampartWeb

/// The customer portal at `/portal`: the customer's own requests (cursor paging), submitting one
/// with attachments, reading one and replying. What a customer reaches and sees is the API's
/// rule (their own tickets, public replies only, never internal notes or their attachments).
/// Customers only; staff are sent to the agent console.
struct PortalPages: Sendable {
    let kit: TicketsPages

    func register(on portal: RouterGroup<ServiceRequestContext>) {
        portal.get { request, context in try await list(request, context) }
        portal.get("new") { request, context -> Response in
            try newPage(try customer(request, context), form: nil, problem: nil)
        }
        portal.post("tickets") { request, context in try await submit(request, context) }
        portal.get("tickets/{id}") { request, context -> Response in
            let session = try customer(request, context)
            return try await ticketPage(session, id: try TicketsPages.ticketID(context), reply: "", problem: nil,
                                        flashes: TicketsPages.doneFlash(request, Self.done))
        }
        portal.post("messages/{id}") { request, context in try await reply(request, context) }
        portal.get("attachments/{id}") { request, context in try await kit.download(context, try customer(request, context)) }
    }

    static let done = ["created": "Thank you: your request was received.", "replied": "Your reply was sent."]

    /// The session of a customer; staff belong in the agent console.
    private func customer(_ request: Request, _ context: ServiceRequestContext) throws -> TicketsPages.Session {
        let session = try kit.session(request, context)
        guard !session.caller.isStaff else { throw PageRedirect(location: "/agent") }
        return session
    }

    private func decorate(_ page: inout WebPage, _ session: TicketsPages.Session, section: String) {
        page.width = .wide
        page.csrfToken = session.csrfToken
        // The script keeps drafts of what customers type (a session that ends meanwhile loses nothing).
        page.script = true
        page.header = PageHeader(home: "/portal", tenant: session.principal.tenantSlug.rawValue, navLabel: "Support", links: [
            Link("My requests", "/portal", current: section == "list"),
            Link("New request", "/portal/new", current: section == "new"),
        ], who: "Signed in")
    }

    private func list(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let session = try customer(request, context)
        let cursor = FormBody.parseQuery(request)["cursor"]
        let (found, next): ([TicketView], TicketQuery.Cursor?)
        do {
            (found, next) = try await kit.tickets.list(session.caller, try TicketQuery([("limit", "25")] + (cursor.map { [("cursor", $0)] } ?? []), search: false))
        } catch TicketsError.invalidCursor {
            throw PageRedirect(location: "/portal")
        }
        var page = WebPage(title: "Your requests", template: "portal/list", values: [
            "rows": found.map { PageModels.row($0, href: "/portal/tickets/\($0.id.uuidString.lowercased())", departments: [:], viewer: nil, names: .none) },
            "pagination": Pagination(first: cursor == nil ? nil : "/portal", next: next.map { "/portal" + TicketsPages.query([("cursor", $0.encoded)]) }),
        ])
        decorate(&page, session, section: "list")
        page.flashes = TicketsPages.doneFlash(request, Self.done)
        return kit.pages.response(page)
    }

    private func newPage(_ session: TicketsPages.Session, form: FormBody?, problem: FormProblem?, flashes: [Flash] = [],
                         status: HTTPResponse.Status = .ok) throws -> Response {
        let priority = form?.fields["priority"] ?? TicketPriority.normal.rawValue
        var page = WebPage(title: "Submit a request", template: "portal/new", values: [
            "fields": [
                FormField("subject", label: "Subject", value: form?.fields["subject"], error: problem?.error("subject"), hint: "A short summary, on one line",
                          required: true, autofocus: form == nil),
                FormField("body", label: "How can we help?", control: .textarea(rows: 8), value: form?.fields["body"], error: problem?.error("body"), required: true),
                FormField("priority", label: "Priority", control: .select(TicketPriority.allCases.map {
                    .init($0.rawValue, PageModels.priorityLabel($0), selected: $0.rawValue == priority)
                }), error: problem?.error("priority")),
            ],
            "filesError": problem?.error("files") ?? "",
            "hasFilesError": problem?.error("files") != nil,
        ])
        decorate(&page, session, section: "new")
        page.flashes = flashes + (problem.map { [Flash(error: $0.summary)] } ?? [])
        return kit.pages.response(page, status: status)
    }

    /// A new request: the files are uploaded first (unsent, the customer's alone), then the
    /// ticket is created with them on its first message, through the API's checks. A request
    /// then refused leaves those uploads unsent; they expire like any upload never sent.
    private func submit(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let session = try customer(request, context)
        let posted = await PageForm.read(request)
        guard let form = posted, FormCSRF.accepts(form.fields, from: session.principal) else {
            return try newPage(session, form: posted?.fields, problem: nil, flashes: [TicketsPages.expired], status: .forbidden)
        }
        let fields = ["message.body": "body", "message": "body", "message.attachment_ids": "files"]
        let ticket: TicketView
        do {
            let files = try await kit.upload(form.files, ticket: nil, session, requestID: context.requestID)
            let input = try FormProblem.decode(NewTicket.self, [
                "subject": form.fields["subject"] ?? "",
                "message": ["body": form.fields["body"] ?? "", "format": MessageFormat.text.rawValue,
                            "attachment_ids": files.map { $0.uuidString.lowercased() }],
                "priority": form.fields["priority"] ?? TicketPriority.normal.rawValue,
            ], fields: fields)
            ticket = try await FormProblem.catching(fields: fields) { try await kit.tickets.create(session.caller, input, requestID: context.requestID).0 }
        } catch let problem as FormProblem {
            return try newPage(session, form: form.fields, problem: problem, status: .unprocessableContent)
        }
        return PageRedirect.seeOther("/portal/tickets/\(ticket.id.uuidString.lowercased())?done=created")
    }

    private func ticketPage(_ session: TicketsPages.Session, id: UUID, reply: String, problem: FormProblem?, flashes: [Flash],
                            status: HTTPResponse.Status = .ok) async throws -> Response {
        let ticket = try await kit.tickets.find(session.caller, id: id)
        let conversation = try await kit.messages.list(session.caller, ticket: id)
        var page = WebPage(title: ticket.subject, template: "portal/ticket", values: [
            "ticketID": id.uuidString.lowercased(),
            "facts": [
                PageModels.Fact(label: "Status", value: PageModels.statusLabel(ticket.status)),
                PageModels.Fact(label: "Submitted", value: PageModels.time(ticket.createdAt)),
                PageModels.Fact(label: "Reference", value: PageModels.shortID(id.uuidString)),
            ],
            "messages": PageModels.messages(conversation, ticket: ticket, viewer: session.principal.subject, staffView: false, names: .none,
                                           attachmentBase: "/portal/attachments"),
            "isOpen": ticket.status != .closed,
            "reply": FormField("body", label: "Your reply", control: .textarea(rows: 6), value: reply, error: problem?.error("reply-body"), id: "reply-body"),
        ])
        decorate(&page, session, section: "ticket")
        page.flashes = flashes
        return kit.pages.response(page, status: status)
    }

    private func reply(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let session = try customer(request, context)
        let id = try TicketsPages.ticketID(context)
        let posted = await PageForm.read(request)
        let body = posted?.fields["body"] ?? ""
        guard let form = posted, FormCSRF.accepts(form.fields, from: session.principal) else {
            return try await ticketPage(session, id: id, reply: body, problem: nil, flashes: [TicketsPages.expired], status: .forbidden)
        }
        do {
            _ = try await kit.send(.reply, body: body, files: form.files, ticket: id, session, requestID: context.requestID)
            return PageRedirect.seeOther("/portal/tickets/\(id.uuidString.lowercased())?done=replied")
        } catch let problem as FormProblem {
            let moved = FormProblem(summary: problem.summary, errors: ["reply-body": problem.errors.values.sorted().joined(separator: " ")])
            return try await ticketPage(session, id: id, reply: body, problem: moved, flashes: [Flash(error: problem.summary)], status: .unprocessableContent)
        }
    }
}
