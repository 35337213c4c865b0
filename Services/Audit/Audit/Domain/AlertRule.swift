import Foundation

/// The anomaly rules audit runs over each tenant's new events.
public enum AlertRule: String, Codable, Sendable, CaseIterable {
    /// ≥ threshold sign-in failures for one user from one IP within 10 minutes.
    case bruteForce = "brute_force"
    /// ≥ threshold distinct users failing to sign in from one IP within 30 minutes.
    case passwordSpraying = "password_spraying"
    /// One actor exporting or downloading more in 24 hours than its baseline allows.
    case massExport = "mass_export"
    /// A user's role changed to admin.
    case privilegeEscalation = "privilege_escalation"
    /// An API key or OAuth client was created.
    case credentialCreated = "credential_created"
    /// SSO or security settings (sign-in policy, audit settings) changed.
    case securitySettingChanged = "security_setting_changed"
    /// An admin acted outside the tenant's business hours.
    case offHoursAdminAction = "off_hours_admin_action"
    /// Two sign-ins of one user further apart than a traveller could be in the time between
    /// (only with a GeoIP database).
    case impossibleTravel = "impossible_travel"

    var severity: String {
        switch self {
        case .bruteForce, .passwordSpraying, .privilegeEscalation, .massExport, .impossibleTravel: "high"
        case .credentialCreated, .securitySettingChanged: "medium"
        case .offHoursAdminAction: "low"
        }
    }

    /// A successful sign-in (password, second factor or SSO), as identity records it.
    static let signIn = "auth.signed_in"
    /// Sign-in failure actions the counting rules look at.
    static let signInFailures = ["auth.sign_in_failed", "auth.second_factor_failed"]
    static let credentialActions: Set<String> = ["api_key.created", "oauth_client.created"]
    static let securityActions: Set<String> = ["security_settings.updated", "audit_settings.updated"]

    /// Whether `action` exports or downloads data.
    static func isExport(_ action: String) -> Bool {
        action.hasSuffix(".exported") || action.hasSuffix(".downloaded")
    }
}
