import Foundation
import HTTPTypes
import Hummingbird
import RampartCore
import RampartSecurity
import RampartTransport
import RampartWeb

/// Audit's part of the admin console at `/admin/audit`: the log viewer (the API's filters,
/// cursor paging, links to the CSV and JSON Lines export of the same filter) and anomaly alerts
/// (open, acknowledged, all; acknowledging with a form). Tenant admins holding `audit:read`
/// only; agents and customers get the 403 page. It reads and acknowledges through the API's own
/// store, filter and repository (`EventFilter`, `EventStore.events`, `AlertRepository`), so what
/// an admin sees — personal data opened with the tenant key, or marked erased — and the
/// `alert.acknowledged` event are the API's. Every value is escaped by the templates: audit
/// metadata (names, user agents, labels) is whatever a caller once sent.
struct AuditPages: Sendable {
    let pages: WebTemplates
    let store: EventStore
    let alerts: AlertRepository

    static let root = "/admin/audit"
    /// Events per page of the log.
    static let pageSize = 50

    func register(on router: Router<ServiceRequestContext>) {
        let admin = router.group(RouterPath(Self.root)).add(middleware: AuditPageErrors(pages: pages))
        admin.get { request, context -> Response in
            _ = try Self.admin(request, context)
            return Self.seeOther(AdminSection.auditLog.path)
        }
        admin.get("log") { request, context in try await log(request, context) }
        admin.get("alerts") { request, context in
            try await alertsPage(try Self.admin(request, context), query: request.uri.queryParameters,
                                 flashes: FormBody.parseQuery(request)["done"] == "acknowledged" ? [Flash(notice: "Alert acknowledged.")] : [])
        }
        admin.post("alerts/{id}/acknowledge") { request, context in try await acknowledge(request, context) }
    }

    /// The principal of a tenant admin who may read the log; anyone else is refused (403 page),
    /// and a request without a principal is sent to sign in.
    static func admin(_ request: Request, _ context: ServiceRequestContext) throws -> Principal {
        guard let principal = context.principal else {
            let path = request.uri.path + (request.uri.query.map { "?" + $0 } ?? "")
            throw AuditPageErrors.Redirect(location: LocalPath.signIn(returningTo: path))
        }
        guard principal.roles.contains("admin"), principal.has(scope: "audit:read") else {
            throw AuditError.permissionDenied("Only the tenant's admins read the audit log.")
        }
        return principal
    }

    static func seeOther(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
    }

    private func decorate(_ page: inout WebPage, _ principal: Principal, _ section: AdminSection, flashes: [Flash]) {
        page.width = .wide
        page.csrfToken = FormCSRF.token(for: principal)
        page.header = .admin(tenant: principal.tenantSlug.rawValue, who: "Signed in as admin", current: section)
        page.flashes = flashes
    }

    // MARK: The log

    /// One event as a row of the log; every text is shown escaped.
    struct EventRow {
        struct Change {
            let name: String
            let from: String
            let to: String
        }

        let time: String
        let actor: String
        let actorDetail: String
        let ip: String
        let hasIP: Bool
        let userAgent: String
        let hasUserAgent: Bool
        let action: String
        let resource: String
        let resourceDetail: String
        let outcome: String
        let isFailure: Bool
        let changes: [Change]
        let hasChanges: Bool
        let erased: Bool
        let requestID: String

        init(_ event: EventView) {
            time = event.occurredAt
            actor = event.actor.displayName ?? event.actor.id
            actorDetail = "\(event.actor.type) · \(event.actor.id)"
            ip = event.actor.ip ?? ""
            hasIP = event.actor.ip != nil
            userAgent = event.actor.userAgent ?? ""
            hasUserAgent = event.actor.userAgent != nil
            action = event.action
            resource = event.resource.label ?? event.resource.id
            resourceDetail = "\(event.resource.type) · \(event.resource.id)"
            outcome = event.outcome
            isFailure = event.outcome != "success"
            changes = (event.changes ?? [:]).sorted { $0.key < $1.key }.map {
                Change(name: $0.key, from: $0.value.first.flatMap { $0 } ?? "—", to: $0.value.dropFirst().first.flatMap { $0 } ?? "—")
            }
            hasChanges = !changes.isEmpty
            erased = event.personalData == "erased"
            requestID = event.requestID ?? ""
        }
    }

    /// The filter form's fields, in the API's names and order (`EventFilter.parameters`).
    static let filterLabels: [(String, String, String)] = [
        ("actor", "Actor id", "A user, API key or OAuth client id"),
        ("actor_type", "Actor type", "admin, agent, customer, api_key, service…"),
        ("action", "Action", "Exact (user.created) or a family (auth.*)"),
        ("resource_type", "Resource type", "user, ticket, department…"),
        ("resource_id", "Resource id", ""),
        ("outcome", "Outcome", ""),
        ("ip", "IP address", ""),
        ("from", "From", "ISO 8601 UTC, such as 2026-01-31T00:00:00Z"),
        ("to", "Before", "ISO 8601 UTC"),
    ]

    private func log(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let principal = try Self.admin(request, context)
        // A filter form sends its empty fields too; the API's filter wants only the given ones.
        let given = Parameters(request.uri.queryParameters.filter { !$0.value.isEmpty && (EventFilter.parameters.contains(String($0.key)) || $0.key == "cursor") })
        var rows: [EventRow] = []
        var next: String?
        var errors: [String: String] = [:]
        var filterItems: [String] = []
        do {
            let filter = try EventFilter(query: given)
            filterItems = filter.queryItems(given)
            let events = try await store.events(tenant: principal.tenantID, filter: filter, before: try AuditQueryRoutes.cursor(given), limit: Self.pageSize + 1)
            let shown = events.prefix(Self.pageSize)
            rows = shown.map(EventRow.init)
            if events.count > Self.pageSize, let last = shown.last {
                next = AdminSection.auditLog.path + "?" + (filterItems + ["cursor=\(AuditQueryRoutes.cursor(after: last))"]).joined(separator: "&")
            }
        } catch let AuditError.invalidQuery(field, message) {
            errors[field] = "This \(field.replacingOccurrences(of: "_", with: " ")) \(message)."
        }
        let query = filterItems.joined(separator: "&")
        let fields = Self.filterLabels.map { name, label, hint in
            if name == "outcome" {
                return FormField(name, label: label, control: .select([("", "Any"), ("success", "Success"), ("failure", "Failure")].map {
                    .init($0.0, $0.1, selected: given.get(name) == $0.0 || (given.get(name) == nil && $0.0.isEmpty))
                }), error: errors[name])
            }
            return FormField(name, label: label, value: given.get(name), error: errors[name], hint: hint.isEmpty ? nil : hint)
        }
        var page = WebPage(title: "Audit log", template: "audit/log", values: [
            "fields": fields,
            "rows": rows,
            "csvExport": "/api/v1/audit/events/export?format=csv" + (query.isEmpty ? "" : "&" + query),
            "jsonlExport": "/api/v1/audit/events/export?format=jsonl" + (query.isEmpty ? "" : "&" + query),
            "isFiltered": !query.isEmpty,
            "pagination": Pagination(first: given.get("cursor") == nil ? nil : AdminSection.auditLog.path + (query.isEmpty ? "" : "?" + query), next: next),
        ])
        decorate(&page, principal, .auditLog, flashes: errors.isEmpty ? [] : [Flash(error: "Please correct the filter marked below.", items: errors.values.sorted())])
        return pages.response(page, status: errors.isEmpty ? .ok : .unprocessableContent)
    }

    // MARK: Alerts

    /// One alert as a row of the list.
    struct AlertRow {
        let id: String
        let raised: String
        let rule: String
        let severity: String
        let summary: String
        let window: String
        let evidence: String
        let travel: String
        let hasTravel: Bool
        let isOpen: Bool
        let acknowledged: String
        let action: String

        init(_ alert: AlertRepository.Alert) {
            id = alert.id.uuidString.lowercased()
            raised = AuditRecord.timestamp(alert.raisedAt)
            rule = alert.rule
            severity = alert.severity
            summary = alert.summary
            window = AuditRecord.timestamp(alert.windowStart)
            evidence = alert.evidenceSeq.map(String.init).joined(separator: ", ")
            travel = alert.travel.map {
                "\($0.from.label) (\($0.from.signedInAt)) → \($0.to.label) (\($0.to.signedInAt)): \($0.distanceKm) km, \($0.speedKmh) km/h"
            } ?? ""
            hasTravel = alert.travel != nil
            isOpen = alert.acknowledgedAt == nil
            acknowledged = alert.acknowledgedAt.map { "\(AuditRecord.timestamp($0)) by \(alert.acknowledgedBy ?? "—")" } ?? ""
            action = "\(AdminSection.alerts.path)/\(id)/acknowledge"
        }
    }

    private func alertsPage(_ principal: Principal, query: Parameters, flashes: [Flash], status: HTTPResponse.Status = .ok) async throws -> Response {
        let shown = try AuditQueryRoutes.alertStatus(query)
        let before = try AuditQueryRoutes.alertCursor(query)
        let found = try await alerts.list(tenant: principal.tenantID, status: shown, before: before, limit: Self.pageSize + 1)
        let rows = found.prefix(Self.pageSize)
        let base = AdminSection.alerts.path + "?status=\(shown.rawValue)"
        var page = WebPage(title: "Alerts", template: "audit/alerts", values: [
            "views": [(AlertRepository.Status.open, "Open"), (.acknowledged, "Acknowledged"), (.all, "All")].map {
                Link($0.1, AdminSection.alerts.path + "?status=\($0.0.rawValue)", current: $0.0 == shown)
            },
            "rows": rows.map(AlertRow.init),
            "pagination": Pagination(first: before == nil ? nil : base,
                                     next: found.count > Self.pageSize ? rows.last.map { base + "&cursor=\(AuditQueryRoutes.cursor(after: $0))" } : nil),
        ])
        decorate(&page, principal, .alerts, flashes: flashes)
        return pages.response(page, status: status)
    }

    /// Why an acknowledgement was refused for its CSRF token.
    static let expired = Flash(error: "Nothing was changed: this form's security token does not match your session (it was opened before you signed in again, or in another session). Acknowledge the alert again.")

    private func acknowledge(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let principal = try Self.admin(request, context)
        guard let id = context.parameters.get("id").flatMap(UUID.init(uuidString:)) else { throw AuditError.alertNotFound }
        let form = try? await FormBody.read(request)
        guard let form, FormCSRF.accepts(form, from: principal) else {
            return try await alertsPage(principal, query: [:], flashes: [Self.expired], status: .forbidden)
        }
        _ = try await alerts.acknowledge(id, tenant: principal.tenantID, actor: AuditRequest.actor(principal), requestID: context.requestID)
        return Self.seeOther(AdminSection.alerts.path + "?done=acknowledged")
    }
}

/// Errors of audit's pages as pages: a redirect to sign in, or a short page (not found, not
/// allowed, a bad query) with the way back — never a JSON document in the browser.
struct AuditPageErrors: RouterMiddleware {
    typealias Context = ServiceRequestContext
    let pages: WebTemplates

    /// A redirect a page answers with (sign in first).
    struct Redirect: Error {
        let location: String
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let home = Link("Back to the audit log", AdminSection.auditLog.path)
        do {
            return try await next(request, context)
        } catch let redirect as Redirect {
            return AuditPages.seeOther(redirect.location)
        } catch let error as AuditError {
            return page(error.problem, home)
        } catch let problem as ProblemError {
            return page(problem, home)
        }
    }

    private func page(_ problem: ProblemError, _ home: Link) -> Response {
        switch problem.status {
        case .notFound:
            pages.message("Not found", ["There is nothing here, or you cannot see it."], links: [home], status: .notFound)
        case .forbidden:
            pages.message("Not allowed", [problem.detail ?? "You may not do this."], links: [home], status: .forbidden)
        default:
            pages.message(problem.title, [problem.detail ?? problem.fieldErrors?.map { "\($0.field): \($0.message)" }.joined(separator: " ") ?? "The request could not be completed."],
                          links: [home], status: problem.status)
        }
    }
}
