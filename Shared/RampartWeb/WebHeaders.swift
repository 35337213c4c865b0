import HTTPTypes

/// The security headers of every server-rendered page, from one place: a strict
/// Content-Security-Policy (own stylesheet and script only, no inline code, no framing, forms
/// post only to this host), no caching, no sniffing, no referrer.
public enum WebHeaders {
    /// Where a page's forms may submit (and be redirected).
    public enum FormTargets: Sendable {
        /// This host only: every page but one.
        case sameOrigin
        /// Anywhere: OAuth consent, whose answer redirects the browser to the client's own
        /// `redirect_uri` (browsers apply `form-action` to that redirect too).
        case anyRedirect
    }

    /// The page CSP: no `unsafe-inline`, nothing loaded from anywhere else.
    public static let contentSecurityPolicy =
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

    /// The page CSP for `targets`.
    public static func contentSecurityPolicy(_ targets: FormTargets) -> String {
        switch targets {
        case .sameOrigin: contentSecurityPolicy
        case .anyRedirect: contentSecurityPolicy.replacingOccurrences(of: " form-action 'self';", with: "")
        }
    }

    /// Sets the page headers on `headers`. Pages carry a CSRF token or personal data, so none
    /// of them may be stored by the browser or a proxy.
    public static func apply(to headers: inout HTTPFields, formTargets: FormTargets = .sameOrigin) {
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.contentSecurityPolicy] = contentSecurityPolicy(formTargets)
        headers[.cacheControl] = "no-store"
        headers[.xContentTypeOptions] = "nosniff"
        headers[.xFrameOptions] = "DENY"
        // Other sites learn nothing; our own forms name their page, which the gateway reads to
        // bring a browser whose session ended back to it after signing in.
        headers[.referrerPolicy] = "same-origin"
    }
}
