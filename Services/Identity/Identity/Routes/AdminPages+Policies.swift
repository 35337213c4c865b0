import Foundation
import HTTPTypes
import Hummingbird
import RampartCore
import RampartTransport
import RampartWeb

/// Policies: the password policy of staff and of customers (a preset or every knob), the roles
/// that must use a second factor, and session timeouts — four forms, each saving its part of the
/// tenant's security settings through `SecuritySettingsRoutes.save` (the API's checks and audit event).
extension AdminPages {
    /// A form of the policies page: which part of the settings it changes.
    enum PolicyPart: String, CaseIterable {
        case staff, customers, twoFactor = "two-factor", sessions

        var heading: String {
            switch self {
            case .staff: "Password policy for staff"
            case .customers: "Password policy for customers"
            case .twoFactor: "Two-factor authentication"
            case .sessions: "Session timeouts"
            }
        }

        /// The part as a sentence names it (`StaleForm.message`).
        var phrase: String {
            switch self {
            case .staff: "the password policy for staff"
            case .customers: "the password policy for customers"
            case .twoFactor: "the roles that must use two-factor authentication"
            case .sessions: "the session timeouts"
            }
        }

        /// The version of this part of `settings`: its form carries the one it was shown with,
        /// and a save applies only while that is still the stored one.
        func version(of settings: SecuritySettings) -> String {
            switch self {
            case .staff: EntityTag.version(of: settings.staffPasswordPolicy)
            case .customers: EntityTag.version(of: settings.customerPasswordPolicy)
            case .twoFactor: EntityTag.version(of: settings.totpRequiredRoles.map(\.rawValue).sorted())
            case .sessions: EntityTag.version(of: [settings.sessionIdleMinutes, settings.sessionAbsoluteHours])
            }
        }

        /// `stored` with this part as in `changed`: the other parts stay as stored.
        func apply(_ changed: SecuritySettings, to stored: SecuritySettings) -> SecuritySettings {
            var result = stored
            switch self {
            case .staff: result.staffPasswordPolicy = changed.staffPasswordPolicy
            case .customers: result.customerPasswordPolicy = changed.customerPasswordPolicy
            case .twoFactor: result.totpRequiredRoles = changed.totpRequiredRoles
            case .sessions:
                result.sessionIdleMinutes = changed.sessionIdleMinutes
                result.sessionAbsoluteHours = changed.sessionAbsoluteHours
            }
            return result
        }
    }

    /// Another admin saved a part after this form was shown with it.
    struct PolicyChangedMeanwhile: Error {
        let part: PolicyPart
    }

    /// The policy knobs as form fields: name, label, whether it is a yes/no choice.
    static let policyKnobs: [(name: String, label: String, isChoice: Bool)] = [
        ("minimum_length", "Minimum length (8 to 64 characters)", false), ("maximum_length", "Maximum length (64 to 256)", false),
        ("history_depth", "Previous passwords refused (0 to 24)", false), ("maximum_age_days", "Change forced after days (1 to 365; empty: never)", false),
        ("require_letter", "Require a letter", true), ("require_digit", "Require a digit", true),
        ("require_mixed_case", "Require upper and lower case", true), ("require_symbol", "Require a symbol", true),
        ("reject_common", "Refuse common passwords", true), ("reject_personal_information", "Refuse the user's name or email", true),
    ]

    func registerPolicies(on router: Router<ServiceRequestContext>) {
        let path = AdminSection.policies.path
        page(router, .get, path, .policies) { request, _, admin in
            let current = try await settings.load(principal: admin.principal)
            return policiesPage(admin, current, notice: Self.notice(request, Dictionary(uniqueKeysWithValues: PolicyPart.allCases.map { ($0.rawValue, "\($0.heading) saved.") })))
        }
        for part in PolicyPart.allCases {
            page(router, .post, "\(path)/\(part.rawValue)", .policies) { request, context, admin in
                let form = try await posted(request, admin, back: path)
                var changed = try await settings.load(principal: admin.principal)
                var refused = Refused()
                switch part {
                case .staff: changed.staffPasswordPolicy = Self.policy(form, part: part, current: changed.staffPasswordPolicy, refused: &refused)
                case .customers: changed.customerPasswordPolicy = Self.policy(form, part: part, current: changed.customerPasswordPolicy, refused: &refused)
                case .twoFactor: changed.totpRequiredRoles = Role.allCases.filter { form["totp_\($0.rawValue)"] == "required" }
                case .sessions:
                    changed.sessionIdleMinutes = Self.number(form, "session_idle_minutes", id: "sessions-session_idle_minutes", refused: &refused) ?? 0
                    changed.sessionAbsoluteHours = Self.number(form, "session_absolute_hours", id: "sessions-session_absolute_hours", refused: &refused) ?? 0
                }
                if refused.fields.isEmpty { Self.note(changed.problems(), in: &refused) }
                if refused.fields.isEmpty {
                    let changed = changed
                    do {
                        if let problem = try await attempt({
                            _ = try await settings.save(principal: admin.principal, requestID: context.requestID) { stored in
                                // Only this part is saved; another admin's change to another part stays.
                                guard StaleForm.matches(form, part.version(of: stored)) else { throw PolicyChangedMeanwhile(part: part) }
                                return part.apply(changed, to: stored)
                            }
                        }) {
                            refused = problem
                        }
                    } catch let conflict as PolicyChangedMeanwhile {
                        var notice = Refused()
                        notice.summary = [StaleForm.message(conflict.part.phrase)]
                        return policiesPage(admin, try await settings.load(principal: admin.principal), refused: notice, status: .conflict)
                    }
                }
                guard !refused.fields.isEmpty || !refused.summary.isEmpty else { return Self.done(path, part.rawValue) }
                if refused.summary.isEmpty { refused.summary = ["Please correct the fields marked below."] }
                return policiesPage(admin, try await settings.load(principal: admin.principal), typed: (part, form), refused: refused)
            }
        }
    }

    /// The settings' own problems (`SecuritySettings.problems`, the check the API applies) on
    /// the fields they concern: a knob's message (`minimum_length must be …`) on that knob.
    private static func note(_ problems: [(field: String, message: String)], in refused: inout Refused) {
        for (field, message) in problems {
            var id = "sessions-\(field)"
            var text = message
            if field.hasSuffix("_password_policy") {
                let words = message.split(separator: " ", maxSplits: 1).map(String.init)
                let knob = policyKnobs.contains { $0.name == words[0] } ? words[0] : "minimum_length"
                id = "\(field.hasPrefix("staff") ? PolicyPart.staff.rawValue : PolicyPart.customers.rawValue)-\(knob)"
                if words.count > 1 { text = words[1].prefix(1).uppercased() + words[1].dropFirst() + "." }
            }
            refused.fields[id] = refused.fields[id].map { $0 + " " + text } ?? text
        }
    }

    /// A whole number from field `name`; an error on `id` when it is not one.
    private static func number(_ form: FormBody, _ name: String, id: String, refused: inout Refused) -> Int? {
        guard let text = form[name]?.trimmingCharacters(in: .whitespaces) else { return nil }
        guard let value = Int(text) else {
            refused.fields[id] = "Enter a whole number."
            return nil
        }
        return value
    }

    /// The policy a form asks for: a preset, or every knob as typed.
    private static func policy(_ form: FormBody, part: PolicyPart, current: PasswordPolicy, refused: inout Refused) -> PasswordPolicy {
        switch form["preset"] {
        case "standards": return .standards
        case "pci": return .pci
        default:
            func number(_ name: String) -> Int? { Self.number(form, name, id: "\(part.rawValue)-\(name)", refused: &refused) }
            func choice(_ name: String) -> Bool { form[name] == "yes" }
            let minimum = number("minimum_length")
            let maximum = number("maximum_length")
            if minimum == nil, refused.fields["\(part.rawValue)-minimum_length"] == nil { refused.fields["\(part.rawValue)-minimum_length"] = "Enter a length." }
            if maximum == nil, refused.fields["\(part.rawValue)-maximum_length"] == nil { refused.fields["\(part.rawValue)-maximum_length"] = "Enter a length." }
            return PasswordPolicy(minimumLength: minimum ?? current.minimumLength, maximumLength: maximum ?? current.maximumLength,
                                  requireLetter: choice("require_letter"), requireDigit: choice("require_digit"),
                                  requireMixedCase: choice("require_mixed_case"), requireSymbol: choice("require_symbol"),
                                  historyDepth: number("history_depth") ?? 0, maximumAgeDays: number("maximum_age_days"),
                                  rejectCommon: choice("reject_common"), rejectPersonalInformation: choice("reject_personal_information"))
        }
    }

    private static func presetName(_ policy: PasswordPolicy) -> String {
        policy == .standards ? "standards" : policy == .pci ? "pci" : "custom"
    }

    /// The four forms, showing the stored settings, or what was typed into the refused one.
    private func policiesPage(_ admin: Admin, _ current: SecuritySettings, typed: (PolicyPart, FormBody)? = nil, refused: Refused = Refused(),
                              notice: String? = nil, status: HTTPResponse.Status? = nil) -> Response {
        let path = AdminSection.policies.path
        func value(_ part: PolicyPart, _ name: String, stored: String) -> String {
            guard let (typedPart, form) = typed, typedPart == part else { return stored }
            return form.fields[name] ?? ""
        }
        func field(_ part: PolicyPart, _ name: String, _ label: String, stored: String, control: FormField.Control = .input(type: "text"),
                   hint: String? = nil) -> FormField {
            let id = "\(part.rawValue)-\(name)"
            let shown = value(part, name, stored: stored)
            let control: FormField.Control = switch control {
            case .select(let options): .select(options.map { .init($0.value, $0.label, selected: $0.value == shown) })
            default: control
            }
            return FormField(name, label: label, control: control, value: shown, error: refused.error(id), hint: hint, inputMode: control.isText ? "numeric" : nil, id: id)
        }
        /// `part`'s form with its version: the stored part's, or for a refused form the one it came
        /// with (none if it came without one), as the values typed into it were made against that.
        func form(_ part: PolicyPart, paragraphs: [String] = [], fields: [FormField]) -> AdminForm {
            let posted = typed.flatMap { $0.0 == part ? $0.1 : nil }
            return AdminForm(id: part.rawValue, heading: part.heading, paragraphs: paragraphs, action: "\(path)/\(part.rawValue)", fields: fields,
                             button: "Save", hidden: [.init(name: StaleForm.fieldName, value: StaleForm.shown(posted, current: part.version(of: current)))])
        }
        func yesNo(_ flag: Bool) -> String { flag ? "yes" : "no" }
        let choices: FormField.Control = .select([.init("yes", "Yes", selected: false), .init("no", "No", selected: false)])
        func policyForm(_ part: PolicyPart, _ policy: PasswordPolicy) -> AdminForm {
            let stored: [String: String] = [
                "minimum_length": String(policy.minimumLength), "maximum_length": String(policy.maximumLength), "history_depth": String(policy.historyDepth),
                "maximum_age_days": policy.maximumAgeDays.map(String.init) ?? "", "require_letter": yesNo(policy.requireLetter),
                "require_digit": yesNo(policy.requireDigit), "require_mixed_case": yesNo(policy.requireMixedCase), "require_symbol": yesNo(policy.requireSymbol),
                "reject_common": yesNo(policy.rejectCommon), "reject_personal_information": yesNo(policy.rejectPersonalInformation),
            ]
            let preset = field(part, "preset", "Policy", stored: Self.presetName(policy), control: .select([
                .init("standards", "Standards (OWASP ASVS, NIST 800-63B): 12 characters, no forced changes", selected: false),
                .init("pci", "PCI DSS 4.0: letters and digits, last 4 refused, changed every 90 days", selected: false),
                .init("custom", "Custom: the settings below", selected: false),
            ]), hint: "A preset ignores the settings below.")
            return form(part, fields: [preset] + Self.policyKnobs.map { knob in
                field(part, knob.name, knob.label, stored: stored[knob.name] ?? "", control: knob.isChoice ? choices : .input(type: "text"))
            })
        }
        var content = Content()
        content.intro = ["Changes apply to passwords set from now on and to the next sign-in; existing sessions keep their timeouts until they end."]
        content.forms = [
            policyForm(.staff, current.staffPasswordPolicy),
            policyForm(.customers, current.customerPasswordPolicy),
            form(.twoFactor, paragraphs: ["Users of a role that requires it must enroll an authenticator app (or sign in with single sign-on) before they can work."],
                 fields: Role.allCases.map { role in
                     field(.twoFactor, "totp_\(role.rawValue)", "\(Self.roleLabel(role))s", stored: current.requiresSecondFactor(role) ? "required" : "optional",
                           control: .select([.init("required", "Required", selected: false), .init("optional", "Optional", selected: false)]))
                 }),
            form(.sessions, fields: [
                field(.sessions, "session_idle_minutes", "Idle timeout in minutes (5 to 10080)", stored: String(current.sessionIdleMinutes)),
                field(.sessions, "session_absolute_hours", "Absolute lifetime in hours (1 to 720)", stored: String(current.sessionAbsoluteHours)),
            ]),
        ]
        return render("Policies", admin, content, errors: refused.summary, notice: notice,
                      status: status ?? (refused.summary.isEmpty ? .ok : .unprocessableContent))
    }
}

extension FormField.Control {
    /// Whether the control is a text input (numbers are typed into text inputs with a numeric keyboard).
    var isText: Bool {
        if case .input(type: "text") = self { return true }
        return false
    }
}
