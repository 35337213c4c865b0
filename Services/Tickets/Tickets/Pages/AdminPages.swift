import Foundation
import HTTPTypes
import Hummingbird
import RampartCore
import RampartTransport
import RampartWeb

/// The helpdesk's part of the admin console at `/admin/helpdesk`: departments (SLA targets,
/// members, removal with the API's `move_to` rule), teams (members, removal), custom field
/// definitions and the tenant's ticket settings (card redaction and the rest). Tenant admins only (`Caller.isAdmin`, which the API
/// requires for every change): agents and customers get the 403 page. Forms are decoded into
/// the API's own bodies and go through the same checks and repositories
/// (`StaffGroupRepository.save`, `NewCustomField.definition`, `SettingsChanges.applied`), so every
/// rule and audit event is the API's.
///
/// Each form that changes something carries the version of what it changes as it was shown
/// (a hidden `version`; a group's details and members each their own), and the repository
/// checks it under its lock: a form shown before another admin saved the same thing saves
/// nothing and the page shows the current values (409), so nobody's change is silently undone.
struct AdminPages: Sendable {
    let kit: TicketsPages
    let settings: SettingsRepository

    static let root = "/admin/helpdesk"

    func register(on admin: RouterGroup<ServiceRequestContext>) {
        admin.get { request, context -> Response in
            _ = try adminSession(request, context)
            return PageRedirect.seeOther(AdminSection.departments.path)
        }
        for group in Self.groups { registerGroup(group, on: admin) }
        admin.get("custom-fields") { request, context in
            try await customFieldsPage(try adminSession(request, context), form: nil, problem: nil, flashes: TicketsPages.doneFlash(request, Self.done))
        }
        admin.post("custom-fields") { request, context in
            try await submit(request, context, render: { try await customFieldsPage($0, form: $1, problem: $2, flashes: $3, status: $4) }) { session, form in
                let definition = try FormProblem.decode(NewCustomField.self, Self.customFieldObject(form, creating: true)).definition()
                let field = try await kit.customFields.create(session.caller, definition, requestID: context.requestID)
                return "\(AdminSection.customFields.path)/\(field.id.uuidString.lowercased())?done=created"
            }
        }
        admin.get("custom-fields/{id}") { request, context in
            try await customFieldPage(try adminSession(request, context), id: try Self.id(context), form: nil, problem: nil,
                                      flashes: TicketsPages.doneFlash(request, Self.done))
        }
        admin.post("custom-fields/{id}") { request, context in
            let id = try Self.id(context)
            return try await submit(request, context, render: { try await customFieldPage($0, id: id, form: $1, problem: $2, flashes: $3, status: $4) }) { session, form in
                let field = Self.row(try await kit.customFields.find(session.caller, id: id))
                let changes = try FormProblem.decode(CustomFieldChanges.self, Self.customFieldObject(form, creating: false, hasOptions: field.hasOptions))
                _ = try await kit.customFields.update(session.caller, id: id, changes, requestID: context.requestID,
                                                      check: Self.shownVersion(form, of: "this field", \.version))
                return "\(AdminSection.customFields.path)/\(id.uuidString.lowercased())?done=saved"
            }
        }
        admin.post("custom-fields/{id}/remove") { request, context in
            let id = try Self.id(context)
            return try await submit(request, context, render: { try await customFieldPage($0, id: id, form: nil, problem: $2, flashes: $3, status: $4) }) { session, _ in
                try await kit.customFields.remove(session.caller, id: id, requestID: context.requestID)
                return AdminSection.customFields.path + "?done=removed"
            }
        }
        admin.get("redaction") { request, context in
            try await settingsPage(try adminSession(request, context), form: nil, problem: nil, flashes: TicketsPages.doneFlash(request, Self.done))
        }
        admin.post("redaction") { request, context in
            try await submit(request, context, render: { try await settingsPage($0, form: $1, problem: $2, flashes: $3, status: $4) }) { session, form in
                let changes = try FormProblem.decode(SettingsChanges.self, Self.settingsObject(form))
                let check = Self.shownVersion(form, of: "the ticket settings", \TicketSettings.version)
                _ = try await settings.update(session.caller, requestID: context.requestID) { stored in
                    try check(stored)
                    return try changes.applied(to: stored)
                }
                return AdminSection.redaction.path + "?done=saved"
            }
        }
    }

    static let done = ["created": "Created.", "saved": "Changes saved.", "removed": "Removed.", "members": "Members saved."]

    /// Someone else saved what a form changes after the form was shown (`StaleForm`): nothing was saved.
    struct ChangedMeanwhile: Error {
        let what: String
    }

    /// A check of the stored item, for its repository to run under its lock: the form's version
    /// must be the item's current one (`StaleForm.matches`).
    static func shownVersion<Item>(_ form: FormBody, of what: String, _ version: @escaping (Item) -> String) -> (Item) throws -> Void {
        { item in
            guard StaleForm.matches(form, version(item)) else { throw ChangedMeanwhile(what: what) }
        }
    }

    /// The session of a tenant admin; anyone else gets the 403 page.
    func adminSession(_ request: Request, _ context: ServiceRequestContext) throws -> TicketsPages.Session {
        let session = try kit.session(request, context)
        try session.caller.requireAdmin()
        return session
    }

    /// A page's form and what to show with it after a refusal: the form as posted, its field
    /// errors, flashes and the status.
    typealias Render = (TicketsPages.Session, FormBody?, FormProblem?, [Flash], HTTPResponse.Status) async throws -> Response

    /// Every form of the console: the CSRF check (refused: 403 with the form and what was typed),
    /// then `apply`, which answers where to go (303); an input error shows the form again, its
    /// fields marked and kept (422); a stale version (`ChangedMeanwhile`) shows the current
    /// values (409).
    func submit(_ request: Request, _ context: ServiceRequestContext, render: Render,
                        apply: (TicketsPages.Session, FormBody) async throws -> String) async throws -> Response {
        let session = try adminSession(request, context)
        let posted = await PageForm.read(request)
        guard let form = posted?.fields, FormCSRF.accepts(form, from: session.principal) else {
            return try await render(session, posted?.fields, nil, [TicketsPages.expired], .forbidden)
        }
        do {
            return PageRedirect.seeOther(try await FormProblem.catching { try await apply(session, form) })
        } catch let problem as FormProblem {
            return try await render(session, form, problem, [Flash(error: problem.summary)], .unprocessableContent)
        } catch let conflict as ChangedMeanwhile {
            return try await render(session, nil, nil, [Flash(error: StaleForm.message(conflict.what))], .conflict)
        }
    }

    /// The admin bar (who by name, when identity's directory names them), the CSRF token, the flashes.
    func decorate(_ page: inout WebPage, _ session: TicketsPages.Session, _ section: AdminSection, flashes: [Flash]) async {
        page.width = .wide
        page.csrfToken = session.csrfToken
        let staff = await kit.staffNames(session)
        let name = session.userID.flatMap { staff.members[$0]?.name } ?? "admin"
        page.header = .admin(tenant: session.principal.tenantSlug.rawValue, who: "Signed in as \(name)", current: section)
        page.flashes = flashes
    }

    // MARK: Custom fields

    /// A custom field definition as the pages show it.
    struct FieldRow {
        let href: String
        let key: String
        let label: String
        let type: String
        let options: String
        let required: String
        let hasOptions: Bool
    }

    static func typeLabel(_ type: CustomFieldDefinition.FieldType) -> String {
        switch type {
        case .text: "Text"
        case .number: "Number"
        case .date: "Date"
        case .singleChoice: "One choice"
        case .multipleChoice: "Several choices"
        }
    }

    static func row(_ field: CustomFieldDefinition) -> FieldRow {
        FieldRow(href: "\(AdminSection.customFields.path)/\(field.id.uuidString.lowercased())", key: field.key, label: field.label,
                 type: typeLabel(field.type), options: field.options.joined(separator: ", "), required: field.required ? "Yes" : "No",
                 hasOptions: field.type == .singleChoice || field.type == .multipleChoice)
    }

    private func customFieldsPage(_ session: TicketsPages.Session, form: FormBody?, problem: FormProblem?, flashes: [Flash],
                                  status: HTTPResponse.Status = .ok) async throws -> Response {
        let type = form?["type"] ?? CustomFieldDefinition.FieldType.text.rawValue
        var page = WebPage(title: "Custom fields", template: "admin/custom-fields", values: [
            "rows": try await kit.customFields.list(session.caller).map(Self.row),
            "fields": [
                FormField("key", label: "Key", value: form?["key"], error: problem?.error("key"),
                          hint: "How the API names it: 1–40 of a-z, 0-9 and _, starting with a letter; it cannot change later", required: true),
                FormField("label", label: "Label", value: form?["label"], error: problem?.error("label"), required: true),
                FormField("type", label: "Type", control: .select(CustomFieldDefinition.FieldType.allCases.map {
                    .init($0.rawValue, Self.typeLabel($0), selected: $0.rawValue == type)
                }), error: problem?.error("type")),
                Self.optionsField(form, problem: problem),
                Self.requiredField(form?["required"] == "true", problem: problem),
            ],
        ])
        await decorate(&page, session, .customFields, flashes: flashes)
        return kit.pages.response(page, status: status)
    }

    private func customFieldPage(_ session: TicketsPages.Session, id: UUID, form: FormBody?, problem: FormProblem?, flashes: [Flash],
                                 status: HTTPResponse.Status = .ok) async throws -> Response {
        let definition = try await kit.customFields.find(session.caller, id: id)
        let field = Self.row(definition)
        let shown = form ?? FormBody(fields: ["label": definition.label, "options": definition.options.joined(separator: "\n"),
                                              "required": String(definition.required)])
        let errors = form == nil ? nil : problem
        var fields = [FormField("label", label: "Label", value: shown["label"], error: errors?.error("label"), required: true)]
        if field.hasOptions { fields.append(Self.optionsField(shown, problem: errors)) }
        fields.append(Self.requiredField(shown["required"] == "true", problem: errors))
        let path = "\(AdminSection.customFields.path)/\(id.uuidString.lowercased())"
        var page = WebPage(title: "Custom field: \(definition.label)", template: "admin/custom-field", values: [
            "field": field, "action": path, "removeAction": path + "/remove", "fields": fields,
            "version": StaleForm.shown(form, current: definition.version),
        ])
        await decorate(&page, session, .customFields, flashes: flashes)
        return kit.pages.response(page, status: status)
    }

    static func optionsField(_ form: FormBody?, problem: FormProblem?) -> FormField {
        FormField("options", label: "Choices", control: .textarea(rows: 5), value: form?["options"], error: problem?.error("options"),
                  hint: "Choice fields only: one per line, 1 to 100 distinct choices")
    }

    static func requiredField(_ required: Bool, problem: FormProblem?) -> FormField {
        FormField("required", label: "Required on every ticket", control: .select([
            .init("false", "No", selected: !required), .init("true", "Yes", selected: required),
        ]), error: problem?.error("required"))
    }

    /// The API's custom-field body from the form: choices one per line (left out when none are
    /// typed, so the API's "choices only on choice fields" rule speaks for itself).
    static func customFieldObject(_ form: FormBody, creating: Bool, hasOptions: Bool = true) -> [String: Any] {
        var object: [String: Any] = ["label": form["label"] ?? "", "required": form["required"] == "true"]
        if creating {
            object["key"] = form["key"] ?? ""
            object["type"] = form["type"] ?? ""
        }
        let options = (form["options"] ?? "").split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if hasOptions, !options.isEmpty || !creating { object["options"] = options }
        return object
    }

    // MARK: Settings

    private func settingsPage(_ session: TicketsPages.Session, form: FormBody?, problem: FormProblem?, flashes: [Flash],
                              status: HTTPResponse.Status = .ok) async throws -> Response {
        let current = try await settings.get(session.caller)
        let shown = form ?? FormBody(fields: [
            "card_keep_first": String(current.cardKeepFirst), "card_keep_last": String(current.cardKeepLast),
            "customers_see_organization": String(current.customersSeeOrganization), "attachment_max_bytes": String(current.attachmentMaxBytes),
            "recycle_bin_days": String(current.recycleBinDays), "closed_ticket_days": String(current.closedTicketDays),
            "erasure_ticket_content": current.erasureTicketContent.rawValue,
        ])
        func number(_ name: String, _ label: String, hint: String) -> FormField {
            FormField(name, label: label, value: shown[name], error: problem?.error(name), hint: hint, required: true, inputMode: "numeric")
        }
        func choice(_ name: String, _ label: String, _ options: [(String, String)]) -> FormField {
            FormField(name, label: label, control: .select(options.map { .init($0.0, $0.1, selected: shown[name] == $0.0) }), error: problem?.error(name))
        }
        var page = WebPage(title: "Card redaction and ticket settings", template: "admin/redaction", values: [
            "version": StaleForm.shown(form, current: current.version),
            "redaction": [
                number("card_keep_first", "Digits kept at the start", hint: "0 to 6. Card numbers in tickets are masked when stored; these digits stay visible"),
                number("card_keep_last", "Digits kept at the end", hint: "0 to 4"),
            ],
            "others": [
                choice("customers_see_organization", "Customers see their organization's tickets", [("false", "No, only their own"), ("true", "Yes")]),
                number("attachment_max_bytes", "Largest attachment (bytes)", hint: "1024 to \(TicketSettings.attachmentCeiling)"),
                number("recycle_bin_days", "Days a deleted ticket stays in the recycle bin", hint: "1 to 3650"),
                number("closed_ticket_days", "Days after which closed tickets are deleted", hint: "30 to 3650, or 0 to keep closed tickets"),
                choice("erasure_ticket_content", "When a customer's data is erased, their tickets' content is",
                       [("keep", "Kept (the customer's details are removed)"), ("delete", "Deleted")]),
            ],
        ])
        await decorate(&page, session, .redaction, flashes: flashes)
        return kit.pages.response(page, status: status)
    }

    /// The API's settings body from the form (every field sent, numbers as numbers).
    static func settingsObject(_ form: FormBody) -> [String: Any] {
        var object: [String: Any] = [:]
        for key in ["card_keep_first", "card_keep_last", "attachment_max_bytes", "recycle_bin_days", "closed_ticket_days"] {
            object[key] = number((form[key] ?? "").trimmingCharacters(in: .whitespaces))
        }
        object["customers_see_organization"] = form["customers_see_organization"] == "true"
        object["erasure_ticket_content"] = form["erasure_ticket_content"] ?? ""
        return object
    }

    // MARK: Values

    /// A whole number as a JSON number; anything else stays text for the API's decoder to name.
    static func number(_ raw: String) -> Any {
        Int(raw).map { $0 as Any } ?? raw
    }

    /// The `{id}` of a console path (anything else: not found).
    static func id(_ context: ServiceRequestContext) throws -> UUID {
        guard let raw = context.parameters.get("id"), let id = UUID(uuidString: raw) else { throw TicketsError.notFound(resource: "admin page") }
        return id
    }

    /// An optional id chosen in a form (empty: none).
    static func optionalID(_ raw: String?, field: String) throws -> UUID? {
        guard let raw, !raw.isEmpty else { return nil }
        guard let id = UUID(uuidString: raw) else { throw FormProblem(summary: "Please correct the fields marked below.", errors: [field: "Not one of the choices."]) }
        return id
    }
}
