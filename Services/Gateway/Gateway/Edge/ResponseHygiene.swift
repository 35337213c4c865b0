import HTTPTypes
import RampartTransport

/// Headers every public response carries, whatever produced it.
public enum ResponseHygiene {
    /// Two years, subdomains included (every tenant host is a subdomain of the base domain).
    public static let strictTransportSecurity = "max-age=63072000; includeSubDomains"
    /// The CSP of HTML responses: nothing from elsewhere, no inline script, no framing.
    public static let htmlContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    /// The CSP of every other response: nothing at all may be loaded or framed.
    public static let apiContentSecurityPolicy = "default-src 'none'; frame-ancestors 'none'"

    /// Sets the security headers on `headers` (`https`: false on the redirect port, where HSTS is meaningless).
    public static func apply(to headers: inout HTTPFields, requestID: String, https: Bool = true) {
        headers[.requestID] = requestID
        if https { headers[.strictTransportSecurity] = strictTransportSecurity }
        headers[.xContentTypeOptions] = "nosniff"
        // A service's own policy is kept when it tells other origins nothing (pages: same-origin).
        if let own = headers[.referrerPolicy], own == "same-origin" || own == "no-referrer" {} else {
            headers[.referrerPolicy] = "strict-origin-when-cross-origin"
        }
        headers[.xFrameOptions] = "DENY"
        let isHTML = headers[.contentType]?.lowercased().hasPrefix("text/html") == true
        // A service that renders its own pages may send a stricter policy (identity's allow no
        // script and one hashed style, and no form-action so OAuth consent can redirect); it is
        // kept when it forbids framing. Anything else gets the edge's policy.
        let own = headers[.contentSecurityPolicy]
        let ownIsStrict = own.map { $0.contains("default-src 'none'") && $0.contains("frame-ancestors 'none'") } ?? false
        if !ownIsStrict, isHTML || own == nil {
            headers[.contentSecurityPolicy] = isHTML ? htmlContentSecurityPolicy : apiContentSecurityPolicy
        }
        headers[.server] = "rampart"
        headers[.xPoweredBy] = nil
    }
}

/// Header names HTTPTypes does not define (literal, valid names: the unwrap cannot fail).
extension HTTPField.Name {
    static let xContentTypeOptions = HTTPField.Name("X-Content-Type-Options")!
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
    static let xFrameOptions = HTTPField.Name("X-Frame-Options")!
    static let xPoweredBy = HTTPField.Name("X-Powered-By")!
    /// The session's anti-CSRF token on cookie-authenticated state changes.
    static let xCSRFToken = HTTPField.Name("X-CSRF-Token")!
    /// A `Host` field left in the headers (HTTP/1.1 moves the first one into the authority).
    static let hostField = HTTPField.Name("Host")!
}
