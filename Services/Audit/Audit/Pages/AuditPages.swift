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
///
/// Staff actors an event does not name (most services record a user by id), the admin signed in
/// and who acknowledged an alert are named from identity's staff directory (``StaffDirectory``):
/// today's name of someone who is still staff, never a customer's, and short ids when identity
/// does not answer. An event's own sealed name comes first; erased events stay unnamed.
struct AuditPages: Sendable {
    let pages: WebTemplates
    let store: EventStore
    let alerts: AlertRepository
    let staff: StaffDirectory
    let settings: SettingsRepository

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
        admin.get("settings") { request, context in
            let principal = try Self.admin(request, context)
            let flashes = FormBody.parseQuery(request)["done"] == "saved" ? [Flash(notice: "Audit settings saved.")] : []
            return try await settingsPage(principal, form: nil, errors: [:], flashes: flashes)
        }
        admin.post("settings") { request, context in try await saveSettings(request, context) }
        router.group(RouterPath(Self.activityPath)).add(middleware: AuditPageErrors(pages: pages)).get { request, context in
            try await activity(request, context)
        }
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

    private func decorate(_ page: inout WebPage, _ principal: Principal, _ section: AdminSection, names: StaffNames, flashes: [Flash]) {
        page.width = .wide
        page.csrfToken = FormCSRF.token(for: principal)
        page.header = .admin(tenant: principal.tenantSlug.rawValue, who: "Signed in as \(names.name(ofActor: principal.subject) ?? "admin")", current: section)
        page.flashes = flashes
    }

    private func staffNames(_ principal: Principal) async -> StaffNames {
        await staff.names(of: principal.tenantID)
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

        init(_ event: EventView, names: StaffNames) {
            time = event.occurredAt
            // Personal data erased: the event stays unnamed, whatever the directory says now.
            let erased = event.personalData == "erased"
            actor = event.actor.displayName ?? (erased ? nil : names.name(ofActor: event.actor.id)) ?? event.actor.id
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
            self.erased = erased
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
        let names = await staffNames(principal)
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
            rows = shown.map { EventRow($0, names: names) }
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
        decorate(&page, principal, .auditLog, names: names, flashes: errors.isEmpty ? [] : [Flash(error: "Please correct the filter marked below.", items: errors.values.sorted())])
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

        init(_ alert: AlertRepository.Alert, names: StaffNames) {
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
            acknowledged = alert.acknowledgedAt.map {
                "\(AuditRecord.timestamp($0)) by \(alert.acknowledgedBy.map { names.name(ofActor: $0) ?? $0 } ?? "—")"
            } ?? ""
            action = "\(AdminSection.alerts.path)/\(id)/acknowledge"
        }
    }

    private func alertsPage(_ principal: Principal, query: Parameters, flashes: [Flash], status: HTTPResponse.Status = .ok) async throws -> Response {
        let shown = try AuditQueryRoutes.alertStatus(query)
        let before = try AuditQueryRoutes.alertCursor(query)
        let found = try await alerts.list(tenant: principal.tenantID, status: shown, before: before, limit: Self.pageSize + 1)
        let names = await staffNames(principal)
        let rows = found.prefix(Self.pageSize)
        let base = AdminSection.alerts.path + "?status=\(shown.rawValue)"
        var page = WebPage(title: "Alerts", template: "audit/alerts", values: [
            "views": [(AlertRepository.Status.open, "Open"), (.acknowledged, "Acknowledged"), (.all, "All")].map {
                Link($0.1, AdminSection.alerts.path + "?status=\($0.0.rawValue)", current: $0.0 == shown)
            },
            "rows": rows.map { AlertRow($0, names: names) },
            "pagination": Pagination(first: before == nil ? nil : base,
                                     next: found.count > Self.pageSize ? rows.last.map { base + "&cursor=\(AuditQueryRoutes.cursor(after: $0))" } : nil),
        ])
        decorate(&page, principal, .alerts, names: names, flashes: flashes)
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

extension AuditPages {
    // MARK: One's own activity

    /// Where staff read their own trail (linked from the agent console's Me page).
    static let activityPath = "/account/activity"

    /// The signed-in staff user's own events, newest first, 50 a page: what they did and from
    /// where, as the log records it (their IPs and user agents are their own data). Admins and
    /// agents, without needing `audit:read`; customers, API keys, OAuth clients acting for a user
    /// and anyone not signed in get the 403 page or sign-in.
    func activity(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        guard let principal = context.principal else {
            let path = request.uri.path + (request.uri.query.map { "?" + $0 } ?? "")
            throw AuditPageErrors.Redirect(location: LocalPath.signIn(returningTo: path))
        }
        guard [.admin, .agent].contains(principal.kind), let user = principal.sessionUserID else {
            throw AuditError.permissionDenied("Only staff signed in as themselves have an activity page.")
        }
        let query = Parameters(request.uri.queryParameters.filter { $0.key == "cursor" })
        var filter = EventFilter()
        filter.anyActor = EventFilter.actorForms(ofUser: user)
        let events = try await store.events(tenant: principal.tenantID, filter: filter, before: try AuditQueryRoutes.cursor(query), limit: Self.pageSize + 1)
        let shown = events.prefix(Self.pageSize)
        let names = await staffNames(principal)
        let next = events.count > Self.pageSize ? shown.last.map { "\(Self.activityPath)?cursor=\(AuditQueryRoutes.cursor(after: $0))" } : nil
        var page = WebPage(title: "My activity", template: "audit/activity", values: [
            "rows": shown.map { EventRow($0, names: names) },
            "pagination": Pagination(first: query.get("cursor") == nil ? nil : Self.activityPath, next: next),
        ])
        page.width = .wide
        let who = names.name(ofActor: principal.subject) ?? PageHeader.unnamedStaff(isAdmin: principal.kind == .admin, subject: principal.subject)
        page.header = .agent(tenant: principal.tenantSlug.rawValue, who: who, current: .me)
        return pages.response(page, status: .ok)
    }

    // MARK: Settings

    /// The settings form's fields in the API's names, grouped as the page shows them:
    /// (group, [(name, label, hint)]).
    static let settingsGroups: [(String, [(String, String, String)])] = [
        ("Retention", [("retention_days", "Keep events for (days)", "30 to 3650. Older events are deleted, the chain cut at a signed checkpoint.")]),
        ("Alert thresholds", [
            ("brute_force_threshold", "Failed sign-ins of one user from one IP in 10 minutes", "2 to 1000; a brute-force alert"),
            ("spraying_threshold", "Users failing from one IP in 30 minutes", "2 to 1000; a password-spraying alert"),
            ("export_threshold", "Exports by one actor in 24 hours always allowed", "1 to 1000; above it and the actor's usual rate, a mass-export alert"),
        ]),
        ("Business hours", [
            ("business_hours_start", "Start (hour)", "0 to 23; admin actions outside business hours on weekdays raise a low alert"),
            ("business_hours_end", "End (hour)", "1 to 24, after the start"),
            ("time_zone", "Time zone", "An IANA time zone, such as Europe/Berlin"),
        ]),
        ("Impossible travel", [
            ("travel_speed_kmh", "Fastest believable travel (km/h)", "100 to 20000; sign-ins further apart than this speed allows raise an alert"),
            ("travel_min_distance_km", "Ignore sign-ins closer than (km)", "0 to 20000; GeoIP itself is often hundreds of kilometres off"),
        ]),
    ]

    /// The form's whole-number fields and the settings they set (the rest is `time_zone`).
    static var numberFields: [(String, WritableKeyPath<TenantAuditSettings, Int>)] {
        [("retention_days", \.retentionDays), ("brute_force_threshold", \.bruteForceThreshold), ("spraying_threshold", \.sprayingThreshold),
         ("export_threshold", \.exportThreshold), ("business_hours_start", \.businessHoursStart), ("business_hours_end", \.businessHoursEnd),
         ("travel_speed_kmh", \.travelSpeedKmh), ("travel_min_distance_km", \.travelMinDistanceKm)]
    }

    /// One group of the settings form.
    struct SettingsGroup {
        let legend: String
        let fields: [FormField]
    }

    /// The settings form: the stored settings, or (`form`) what was posted, with `errors` by field.
    func settingsPage(_ principal: Principal, form: FormBody?, errors: [String: String], flashes: [Flash],
                      status: HTTPResponse.Status = .ok) async throws -> Response {
        let names = await staffNames(principal)
        let current = try await settings.settings(tenant: principal.tenantID)
        let stored = try SettingsRepository.fields(current)
        let groups = Self.settingsGroups.map { legend, fields in
            SettingsGroup(legend: legend, fields: fields.map { name, label, hint in
                FormField(name, label: label, value: form.map { $0.fields[name] ?? "" } ?? stored[name], error: errors[name], hint: hint, required: true,
                          inputMode: name == "time_zone" ? nil : "numeric")
            })
        }
        var page = WebPage(title: "Audit settings", template: "audit/settings", values: [
            "groups": groups,
            "action": AdminSection.auditSettings.path,
            "version": StaleForm.shown(form, current: current.version),
            "mayChange": principal.has(scope: "security:write"),
        ])
        decorate(&page, principal, .auditSettings, names: names, flashes: flashes)
        return pages.response(page, status: status)
    }

    /// A posted settings form: the session's token, then every field checked at once; stored
    /// (and recorded as `audit_settings.updated`) through the API's repository.
    func saveSettings(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let principal = try Self.admin(request, context)
        guard principal.has(scope: "security:write") else {
            throw AuditError.permissionDenied("Changing audit settings needs the admin.security permission.")
        }
        let form = try? await FormBody.read(request)
        guard let form, FormCSRF.accepts(form, from: principal) else {
            return try await settingsPage(principal, form: form, errors: [:], flashes: [Self.expiredSettings], status: .forbidden)
        }
        // The form carries every setting, so what is stored now is not read (only its version).
        var wanted = TenantAuditSettings()
        var errors: [String: String] = [:]
        for (name, field) in Self.numberFields {
            guard let value = form[name].flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }) else {
                errors[name] = "Enter a whole number."
                continue
            }
            wanted[keyPath: field] = value
        }
        wanted.timeZone = (form["time_zone"] ?? "").trimmingCharacters(in: .whitespaces)
        for (name, message) in wanted.invalidFields() where errors[name] == nil {
            errors[name] = "This " + name.replacingOccurrences(of: "_", with: " ") + " " + message.replacingOccurrences(of: "_", with: " ") + "."
        }
        guard errors.isEmpty else {
            return try await settingsPage(principal, form: form, errors: errors,
                                          flashes: [Flash(error: "Nothing was saved: please correct the fields marked below.", items: errors.values.sorted())],
                                          status: .unprocessableContent)
        }
        do {
            _ = try await settings.update(wanted, tenant: principal.tenantID, actor: AuditRequest.actor(principal), requestID: context.requestID,
                                          store: store) { current in
                // The form carries every setting: one shown before another admin's save would undo it.
                guard StaleForm.matches(form, current.version) else { throw SettingsChangedMeanwhile() }
            }
        } catch is SettingsChangedMeanwhile {
            return try await settingsPage(principal, form: nil, errors: [:], flashes: [Flash(error: StaleForm.message("the audit settings"))], status: .conflict)
        }
        return Self.seeOther(AdminSection.auditSettings.path + "?done=saved")
    }

    /// Another admin saved the settings after the form was shown with them.
    struct SettingsChangedMeanwhile: Error {}

    /// Why a settings form was refused for its CSRF token.
    static let expiredSettings = Flash(error: "Nothing was saved: this form's security token does not match your session (it was opened before you signed in again, or in another session). Your values are kept below; save again.")
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
