import Foundation
import HTTPTypes
import Hummingbird
import RampartCore
import RampartSecurity
import RampartTransport
import RampartWeb

/// The helpdesk's pages: the agent console (`/agent`, `AgentPages`), the customer portal
/// (`/portal`, `PortalPages`) and the helpdesk's admin pages (`/admin/helpdesk`, `AdminPages`), rendered with the shared kit over the same repositories as the
/// API, so every rule (reach, permissions, sealing, sanitizing, audit) is the API's own.
/// Forms are plain posts answered with 303; their CSRF token is checked here (`csrf: form` at the edge).
struct TicketsPages: Sendable {
    let pages: WebTemplates
    let tickets: TicketRepository
    let messages: MessageRepository
    let attachments: AttachmentRepository
    let departments: StaffGroupRepository
    let teams: StaffGroupRepository
    let customFields: CustomFieldRepository
    let settings: SettingsRepository
    let staff: StaffDirectory

    func register(on router: Router<ServiceRequestContext>) {
        AgentPages(kit: self).register(on: router.group("/agent").add(middleware: PageErrorMiddleware(pages: pages, home: Link("Back to the ticket list", "/agent"))))
        PortalPages(kit: self).register(on: router.group("/portal").add(middleware: PageErrorMiddleware(pages: pages, home: Link("Back to your requests", "/portal"))))
        AdminPages(kit: self, settings: settings).register(on: router.group(RouterPath(AdminPages.root))
            .add(middleware: PageErrorMiddleware(pages: pages, home: Link("Back to the admin console", AdminSection.departments.path))))
    }

    /// Who is looking: the verified principal and what it may do. Without one (only possible
    /// when something other than the gateway calls) the browser is sent to sign in.
    struct Session {
        let principal: Principal
        let caller: Caller
        var csrfToken: String { FormCSRF.token(for: principal) }
        /// The signed-in user's id, for "mine".
        var userID: UUID? { principal.userID }
    }

    func session(_ request: Request, _ context: ServiceRequestContext) throws -> Session {
        guard let principal = context.principal else {
            throw PageRedirect.signIn(returningTo: request.uri.path + (request.uri.query.map { "?" + $0 } ?? ""))
        }
        return Session(principal: principal, caller: try Caller(principal))
    }

    /// The names of the tenant's staff, for staff only (customers see "Support"); short ids
    /// wherever identity could not name someone.
    func staffNames(_ session: Session) async -> StaffNames {
        guard session.caller.isStaff else { return .none }
        return await staff.names(of: session.principal.tenantID)
    }

    /// Department names by id (at most the first 100), for lists and selects.
    func departmentNames(_ caller: Caller) async throws -> [(UUID, String)] {
        guard caller.isStaff else { return [] }
        return try await departments.list(caller, after: nil, limit: 100).map { ($0.id, $0.name) }
    }

    /// Uploads the chosen files to `ticket` (nil: for a ticket about to be created); an upload the helpdesk refuses (type, size, reach)
    /// becomes an error of the `files` field.
    func upload(_ files: [PageForm.File], ticket: UUID?, _ session: Session, requestID: String) async throws -> [UUID] {
        var ids: [UUID] = []
        for file in files {
            do {
                ids.append(try await attachments.upload(session.caller, ticket: ticket, filename: file.filename, content: file.content, requestID: requestID).id)
            } catch let error as TicketsError {
                let problem = error.problem
                guard problem.status != .notFound, problem.status != .forbidden else { throw error }
                throw FormProblem(summary: "\(file.filename): \(problem.detail ?? problem.title)", errors: ["files": problem.detail ?? problem.title])
            }
        }
        return ids
    }

    /// Adds a reply or note: the files first, then the message through the API's own checks.
    func send(_ kind: MessageKind, body: String, files: [PageForm.File], ticket: UUID, _ session: Session, requestID: String) async throws -> MessageView {
        let ids = try await upload(files, ticket: ticket, session, requestID: requestID)
        let input = try FormProblem.decode(NewMessage.self, [
            "body": body, "format": MessageFormat.text.rawValue, "kind": kind.rawValue, "attachment_ids": ids.map { $0.uuidString.lowercased() },
        ])
        return try await FormProblem.catching { try await messages.add(session.caller, ticket: ticket, input, requestID: requestID).0 }
    }

    /// An attachment as a download, with the API's headers (`AttachmentRoutes.download`).
    func download(_ context: ServiceRequestContext, _ session: Session) async throws -> Response {
        guard let raw = context.parameters.get("id"), let id = UUID(uuidString: raw) else { throw TicketsError.notFound(resource: "attachment") }
        let (record, content) = try await attachments.download(session.caller, id: id)
        return AttachmentRoutes.download(record, content)
    }

    /// The `{id}` of a page path as a ticket id (anything else: not found).
    static func ticketID(_ context: ServiceRequestContext) throws -> UUID {
        guard let raw = context.parameters.get("id"), let id = UUID(uuidString: raw) else { throw TicketsError.notFound(resource: "ticket") }
        return id
    }

    /// A query string from ordered pairs, values percent-encoded.
    static func query(_ pairs: [(String, String)]) -> String {
        pairs.isEmpty ? "" : "?" + pairs.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: .uriUnreserved) ?? "")" }.joined(separator: "&")
    }

    /// Why a form was refused for its CSRF token; the page shows the form again with what was typed.
    static let expired = Flash(error: "Nothing was saved: this form's security token does not match your session (it was opened before you signed in again, or in another session). What you typed is kept below; send it again.")

    /// A flash for the `done` parameter a form's redirect carries.
    static func doneFlash(_ request: Request, _ messages: [String: String]) -> [Flash] {
        (FormBody.parseQuery(request)["done"]).flatMap { messages[$0] }.map { [Flash(notice: $0)] } ?? []
    }
}

/// A redirect a page answers with (sign in first).
struct PageRedirect: Error {
    let location: String

    static func signIn(returningTo path: String) -> PageRedirect {
        PageRedirect(location: LocalPath.signIn(returningTo: path))
    }

    /// 303 to `location`.
    static func seeOther(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
    }
}
