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
    ///
    /// One pass reads what the response says of itself (its type, its own policies), a second
    /// copies what stays; the edge's fields are built once. (HTTPFields finds a name by scanning
    /// every field, and this runs for every response: it once cost a dozen scans per response.)
    public static func apply(to headers: inout HTTPFields, requestID: String, https: Bool = true) {
        var contentType: String?
        var referrerPolicies = 0
        var ownReferrerIsStrict = false
        var ownPolicies = 0
        var ownPolicyForbidsAll = false
        var ownPolicyForbidsFraming = false
        for field in headers {
            switch field.name {
            case .contentType:
                if contentType == nil { contentType = field.value }
            case .referrerPolicy:
                referrerPolicies += 1
                ownReferrerIsStrict = field.value == "same-origin" || field.value == "no-referrer"
            case .contentSecurityPolicy:
                ownPolicies += 1
                if field.value.contains("default-src 'none'") { ownPolicyForbidsAll = true }
                if field.value.contains("frame-ancestors 'none'") { ownPolicyForbidsFraming = true }
            default:
                break
            }
        }
        // A service's own referrer policy is kept when it tells other origins nothing (pages: same-origin).
        let keepsReferrerPolicy = referrerPolicies == 1 && ownReferrerIsStrict
        let isHTML = contentType?.lowercased().hasPrefix("text/html") == true
        // A service that renders its own pages may send a stricter policy (identity's allow no
        // script and one hashed style, and no form-action so OAuth consent can redirect); it is
        // kept when it forbids framing. Anything else gets the edge's policy.
        let ownPolicyIsStrict = ownPolicyForbidsAll && ownPolicyForbidsFraming
        let setsPolicy = !ownPolicyIsStrict && (isHTML || ownPolicies == 0)

        var result = HTTPFields()
        result.reserveCapacity(headers.count + 8)
        for field in headers {
            switch field.name {
            case .requestID, .xContentTypeOptions, .xFrameOptions, .server, .xPoweredBy:
                continue
            case .strictTransportSecurity where https, .referrerPolicy where !keepsReferrerPolicy, .contentSecurityPolicy where setsPolicy:
                continue
            default:
                result.append(field)
            }
        }
        result.append(HTTPField(name: .requestID, value: requestID))
        if https { result.append(Field.strictTransportSecurity) }
        result.append(Field.noSniff)
        if !keepsReferrerPolicy { result.append(Field.referrerPolicy) }
        result.append(Field.noFraming)
        if setsPolicy { result.append(isHTML ? Field.htmlContentSecurityPolicy : Field.apiContentSecurityPolicy) }
        result.append(Field.server)
        headers = result
    }

    /// The edge's fields, validated once.
    private enum Field {
        static let strictTransportSecurity = HTTPField(name: .strictTransportSecurity, value: ResponseHygiene.strictTransportSecurity)
        static let noSniff = HTTPField(name: .xContentTypeOptions, value: "nosniff")
        static let referrerPolicy = HTTPField(name: .referrerPolicy, value: "strict-origin-when-cross-origin")
        static let noFraming = HTTPField(name: .xFrameOptions, value: "DENY")
        static let htmlContentSecurityPolicy = HTTPField(name: .contentSecurityPolicy, value: ResponseHygiene.htmlContentSecurityPolicy)
        static let apiContentSecurityPolicy = HTTPField(name: .contentSecurityPolicy, value: ResponseHygiene.apiContentSecurityPolicy)
        static let server = HTTPField(name: .server, value: "rampart")
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
