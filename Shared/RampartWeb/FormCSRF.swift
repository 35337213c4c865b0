import RampartSecurity

/// The anti-CSRF check of a server-rendered form (routes marked `csrf: form` at the edge, where
/// the gateway leaves the check to the service): the form's `csrf_token` field must be the
/// session's token. Identity derives it (`CSRFToken`, an HMAC of the session id) and signs it
/// into the session's principal, so every service checks the same token identity's own forms
/// carry, without holding identity's key.
public enum FormCSRF {
    /// The form field that carries the token (the `csrf` partial writes it).
    public static let fieldName = "csrf_token"

    /// Whether a form posted with `principal` may be acted on. A session principal needs its
    /// token, compared in constant time; a principal without a session came with a bearer
    /// credential, which a browser never sends on its own, so there is nothing to forge.
    public static func accepts(_ form: FormBody, from principal: Principal) -> Bool {
        guard principal.sessionID != nil else { return true }
        guard let expected = principal.csrfToken, let presented = form.fields[fieldName], !presented.isEmpty else { return false }
        return ConstantTime.equal(presented, expected)
    }

    /// The token forms rendered for `principal` carry (empty without a session).
    public static func token(for principal: Principal) -> String {
        principal.csrfToken ?? ""
    }
}
