/// The admin console's check against lost updates: a page gives each form that changes shared
/// settings the version of what it shows (a hidden `version` field), and a save applies only
/// while that is still the stored version, checked under the repository's lock. Otherwise
/// nothing is saved and the page shows the current values with ``message(_:)``, answered 409.
public enum StaleForm {
    /// The hidden field that carries the version.
    public static let fieldName = "version"

    /// The version a form carries when it is shown: for a form shown again after a refusal, the
    /// one it was posted with (what was typed was made against that, so correcting a typo does
    /// not slip past the check; none if it came without one), else `current`.
    public static func shown(_ posted: FormBody?, current: String) -> String {
        posted.map { $0.fields[fieldName] ?? "" } ?? current
    }

    /// Whether `form` was made from version `current`; a form without a version never was.
    public static func matches(_ form: FormBody, _ current: String) -> Bool {
        form.fields[fieldName] == current
    }

    /// What the refused form's page says; `what` names what was changed ("the audit settings").
    public static func message(_ what: String) -> String {
        "Someone else changed \(what) after this page was opened, so nothing was saved. The current values are shown: make your change again."
    }
}
