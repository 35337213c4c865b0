import RampartCore
import RampartTransport

extension IdentityError {
    /// The problem document this refusal answers with.
    var problem: ProblemError {
        switch self {
        case .invalidSlug(let reason):
            ProblemError(status: .unprocessableContent, code: "invalid_input", title: "Invalid input", fieldErrors: [.init(field: "slug", message: reason)])
        case .slugTaken:
            ProblemError(status: .conflict, code: "slug_taken", title: "Slug taken", detail: "A tenant with this slug exists in this region.")
        case .tenantNotFound:
            ProblemError(status: .notFound, code: "tenant_not_found", title: "Tenant not found")
        case .tenantNotActive:
            ProblemError(status: .conflict, code: "tenant_not_active", title: "Tenant not active")
        case .invalidTransition(let from, let to):
            ProblemError(status: .conflict, code: "invalid_transition", title: "Invalid status change", detail: "A tenant cannot go from \(from) to \(to).")
        case .purgeStarted:
            ProblemError(status: .conflict, code: "tenant_purge_started", title: "Purge started",
                         detail: "The tenant's purge has begun and its data is being deleted; it can no longer be reinstated.")
        case .invalidEmail:
            ProblemError(status: .unprocessableContent, code: "invalid_input", title: "Invalid input", fieldErrors: [.init(field: "email", message: "Enter a valid email address.")])
        case .invalidName:
            ProblemError(status: .unprocessableContent, code: "invalid_input", title: "Invalid input", fieldErrors: [.init(field: "name", message: "Use 1 to 200 characters.")])
        case .emailTaken:
            ProblemError(status: .conflict, code: "email_taken", title: "Email taken", detail: "A user with this email exists in this tenant.")
        case .userNotFound:
            ProblemError(status: .notFound, code: "user_not_found", title: "User not found")
        case .weakPassword(let violations):
            ProblemError(status: .unprocessableContent, code: "password_policy", title: "Password does not meet the policy",
                         fieldErrors: violations.map { .init(field: "password", message: $0.message) })
        case .invalidScopes(let scopes):
            ProblemError(status: .unprocessableContent, code: "invalid_input", title: "Invalid input",
                         fieldErrors: [.init(field: "scopes", message: scopes.isEmpty ? "Give at least one scope." : "Unknown scopes: \(scopes.joined(separator: ", ")).")])
        case .scopesExceedRole(let scopes):
            ProblemError(status: .unprocessableContent, code: "scopes_exceed_role", title: "Scopes exceed the user's role",
                         fieldErrors: [.init(field: "scopes", message: "The user's role does not grant: \(scopes.joined(separator: ", ")).")])
        case .invalidCIDR(let cidr):
            ProblemError(status: .unprocessableContent, code: "invalid_input", title: "Invalid input",
                         fieldErrors: [.init(field: "allowed_cidrs", message: "Not a network in CIDR notation: \(cidr.prefix(60)).")])
        case .invalidExpiry:
            ProblemError(status: .unprocessableContent, code: "invalid_input", title: "Invalid input", fieldErrors: [.init(field: "expires_at", message: "Must be in the future.")])
        case .invalidRedirectURI(let uri):
            ProblemError(status: .unprocessableContent, code: "invalid_input", title: "Invalid input", fieldErrors: [.init(
                field: "redirect_uris",
                message: uri.isEmpty ? "Give 1 to 10 redirect URIs." : "Not an absolute https URI without fragment (http only for loopback): \(uri.prefix(80))."
            )])
        case .apiKeyNotFound:
            ProblemError(status: .notFound, code: "api_key_not_found", title: "API key not found")
        case .oauthClientNotFound:
            ProblemError(status: .notFound, code: "oauth_client_not_found", title: "OAuth client not found")
        case .publicClientHasNoSecret:
            ProblemError(status: .conflict, code: "public_client", title: "Public client",
                         detail: "A public client has no secret to rotate: it proves itself with PKCE.")
        }
    }
}
