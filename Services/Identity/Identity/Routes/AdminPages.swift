import Foundation
import HTTPTypes
import Hummingbird
import RampartCore
import RampartSecurity
import RampartTransport
import RampartWeb

/// Identity's part of the admin console, `/admin/security/...`: users and roles, policies,
/// single sign-on, API keys and OAuth clients (one file per section, `AdminPages+*.swift`).
/// Every page is a plain form (POST, then 303 back with a notice) over the very functions the
/// admin API calls (`UserAdminRoutes`, `SecuritySettingsRoutes`, `SSOAdminRoutes`,
/// `CredentialAdminRoutes`), so each rule, refusal and audit event is the API's. A section
/// needs the API's permission for it (`users:write`, `security:write`: admins); anyone else,
/// agents and customers alike, gets the API's 403 as a page.
struct AdminPages: Sendable {
    let pages: IdentityPages
    let users: UserRepository
    let apiKeys: APIKeyRepository
    let clients: OAuthClientRepository
    let userAdmin: UserAdminRoutes
    let settings: SecuritySettingsRoutes
    let credentials: CredentialAdminRoutes
    let sso: SSOAdminRoutes

    /// The paths of identity's admin pages; their forms carry the CSRF token in a field.
    static let prefix = "/admin/security/"

    func register(on router: Router<ServiceRequestContext>) {
        router.get("/admin") { _, _ in AuthorizeRoutes.redirect(AdminSection.users.path) }
        registerUsers(on: router)
        registerPolicies(on: router)
        registerSSO(on: router)
        registerAPIKeys(on: router)
        registerOAuthClients(on: router)
    }

    typealias Content = AdminContent

    /// The signed-in admin on a page of `section`.
    struct Admin {
        let principal: Principal
        let section: AdminSection
        let who: String
        var csrfToken: String { FormCSRF.token(for: principal) }
        var header: PageHeader { .admin(tenant: principal.tenantSlug.rawValue, who: who, current: section) }
    }

    /// An answer that ends a page's handler early (a refused form).
    struct Answer: Error {
        let response: Response
    }

    /// Registers a page of `section`: the principal must hold the section's permission, and
    /// refusals become pages (403, 404, …) in the console's frame, never JSON.
    func page(_ router: Router<ServiceRequestContext>, _ method: HTTPRequest.Method, _ path: String, _ section: AdminSection,
              _ handler: @escaping @Sendable (Request, ServiceRequestContext, Admin) async throws -> Response) {
        router.on(RouterPath(path), method: method) { request, context -> Response in
            guard let principal = context.principal else { return AccountPages.signInFirst(request) }
            let user = try await MeRoutes.user(of: principal, users: users)
            let admin = Admin(principal: principal, section: section, who: user.map { "\($0.name) (\($0.email.rawValue))" } ?? principal.subject)
            do {
                if section == .users { try UserAdminRoutes.requireAdmin(principal) } else { try CredentialAdminRoutes.requireSecurityAdmin(principal) }
                return try await handler(request, context, admin)
            } catch let answer as Answer {
                return answer.response
            } catch let problem as ProblemError {
                return refusal(problem, admin)
            }
        }
    }

    /// A refusal as a page: not allowed, not found, or what the API said.
    private func refusal(_ problem: ProblemError, _ admin: Admin) -> Response {
        let allowed = admin.principal.has(scope: "users:write") || admin.principal.has(scope: "security:write")
        let back = allowed ? [Link("Back to \(admin.section.label)", admin.section.path)] : [Link("Home", "/")]
        switch problem.status {
        case .forbidden:
            return pages.templates.message("Not allowed", [problem.detail ?? problem.title], links: back,
                                           header: allowed ? admin.header : nil, status: .forbidden)
        case .notFound:
            return pages.templates.message("Not found", ["There is nothing here, or it belongs to another tenant."], links: back,
                                           header: admin.header, status: .notFound)
        default:
            return pages.templates.message(problem.title, [problem.detail ?? "The change was not made."], links: back,
                                           header: admin.header, status: problem.status)
        }
    }

    /// The posted form, once its CSRF token is the session's; otherwise the page to answer
    /// with (403 with what was typed, secrets left out, and a way back to `back`).
    func posted(_ request: Request, _ admin: Admin, back: String) async throws -> FormBody {
        guard let form = try? await FormBody.read(request, limit: 128 * 1024) else {
            throw Answer(response: pages.templates.message("Not saved", ["The form could not be read."], links: [Link("Back", back)],
                                                           header: admin.header, status: .badRequest))
        }
        guard FormCSRF.accepts(form, from: admin.principal) else {
            throw Answer(response: pages.templates.formExpired(form, back: back, header: admin.header))
        }
        return form
    }

    /// A section page: tables, forms, a secret shown once; notices and errors above.
    func render(_ title: String, _ admin: Admin, _ content: Content, errors: [String] = [], notice: String? = nil,
                status: HTTPResponse.Status = .ok) -> Response {
        var page = WebPage(title: title, template: "admin/section", values: content.values)
        page.width = .wide
        page.header = admin.header
        page.csrfToken = admin.csrfToken
        page.flashes = IdentityPages.flashes(errors: errors, notice: notice)
        return pages.templates.response(page, status: status)
    }

    /// 303 back to `path`, where `done` names the notice shown (`notices`).
    static func done(_ path: String, _ done: String) -> Response {
        AuthorizeRoutes.redirect("\(path)?done=\(done)")
    }

    /// The notice a `?done=` names, from the page's own fixed list (never text from the query).
    static func notice(_ request: Request, _ notices: [String: String]) -> String? {
        FormBody.parseQuery(request)["done"].flatMap { notices[$0] }
    }

    /// What the API refused, by form field: messages keyed by the page's field ids, and
    /// a summary for what belongs to no field.
    struct Refused {
        var fields: [String: String] = [:]
        var summary: [String] = []

        init() {}

        /// A message about a field the form does not have goes to the summary, with its name.
        init(_ problem: ProblemError, fields names: [String: String] = [:]) {
            var unplaced: [String] = []
            for item in problem.fieldErrors ?? [] {
                let message = item.message.prefix(1).uppercased() + item.message.dropFirst()
                guard let id = names[item.field] else {
                    unplaced.append("\(item.field): \(item.message)")
                    continue
                }
                fields[id] = fields[id].map { $0 + " " + message } ?? message
            }
            summary = [problem.detail ?? (fields.isEmpty && unplaced.isEmpty ? problem.title : "Please correct the fields marked below.")] + unplaced
        }

        func error(_ id: String) -> String? { fields[id] }
    }

    /// Runs a change; an input refusal of the API (422, 409, a scope beyond the caller's) comes
    /// back as `Refused` for the form, anything else (not found, not allowed) as a page.
    func attempt(fields: [String: String] = [:], _ change: () async throws -> Void) async throws -> Refused? {
        do {
            try await change()
            return nil
        } catch let problem as ProblemError where [.unprocessableContent, .conflict, .badRequest].contains(problem.status)
            || ["role_exceeds_caller", "scopes_exceed_caller"].contains(problem.code) {
            return Refused(problem, fields: fields)
        }
    }

    /// The API's own body type from a page's values, decoded as the API decodes it (a value the
    /// type does not know, such as an unknown role, is refused).
    static func decode<T: Decodable>(_ type: T.Type, _ object: [String: Any], field: String) throws -> T {
        guard let data = try? JSONSerialization.data(withJSONObject: object), let body = try? JSONRequestBody.decoder.decode(type, from: data) else {
            throw ProblemError(status: .unprocessableContent, code: "invalid_input", title: "Invalid input",
                               fieldErrors: [.init(field: field, message: "Choose one of the listed values.")])
        }
        return body
    }
}
