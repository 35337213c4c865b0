import Foundation
import HTTPTypes
import Hummingbird
import RampartWeb

/// Identity's server-rendered pages (sign-in, second factor, account, invitation, OAuth
/// consent) on the shared kit: the product's layout and stylesheet, every value escaped, no
/// script at all, the page security headers, nothing cached.
struct IdentityPages: Sendable {
    let templates: WebTemplates

    /// A hidden value of a form.
    struct Hidden {
        let name: String
        let value: String
    }

    /// A submit button; `name`/`value` tell which one was pressed.
    struct Button {
        let label: String
        let name: String
        let value: String
        let hasName: Bool
        let secondary: Bool

        init(_ label: String, name: String? = nil, value: String = "", secondary: Bool = false) {
            self.label = label
            self.name = name ?? ""
            self.value = value
            hasName = name != nil
            self.secondary = secondary
        }
    }

    /// A page with one form posting to `action`: paragraphs above it, hidden values (absent
    /// ones left out), fields and buttons; `errors` above everything.
    func form(_ title: String, action: String, csrfToken: String, paragraphs: [String] = [], hidden: [(String, String?)] = [],
              fields: [FormField], buttons: [Button], errors: [String] = [], notice: String? = nil,
              status: HTTPResponse.Status = .ok) -> Response {
        var page = WebPage(title: title, template: "identity/form", values: [
            "action": action,
            "paragraphs": paragraphs,
            "hidden": hidden.compactMap { name, value in value.map { Hidden(name: name, value: $0) } },
            "fields": fields,
            "buttons": buttons,
        ])
        page.csrfToken = csrfToken
        page.flashes = Self.flashes(errors: errors, notice: notice)
        return templates.response(page, status: status)
    }

    /// A short page: what happened, and where to go.
    func message(_ title: String, _ paragraphs: [String] = [], error: String? = nil, links: [Link] = [], status: HTTPResponse.Status = .ok) -> Response {
        templates.message(title, paragraphs, links: links, flash: error.map { Flash(error: $0) }, status: status)
    }

    /// Any other page of identity's templates.
    func page(_ title: String, template: String, values: [String: Any], csrfToken: String = "", errors: [String] = [],
              formTargets: WebHeaders.FormTargets = .sameOrigin, status: HTTPResponse.Status = .ok) -> Response {
        var page = WebPage(title: title, template: template, values: values)
        page.csrfToken = csrfToken
        page.flashes = Self.flashes(errors: errors, notice: nil)
        page.formTargets = formTargets
        return templates.response(page, status: status)
    }

    /// One error as it is; several under one summary.
    static func flashes(errors: [String], notice: String?) -> [Flash] {
        let notices = notice.map { [Flash(notice: $0)] } ?? []
        switch errors.count {
        case 0: return notices
        case 1: return notices + [Flash(error: errors[0])]
        default: return notices + [Flash(error: "That did not work:", items: errors)]
        }
    }

    /// A sign-in form whose pre-session token no longer matches: start again.
    func signInExpired() -> Response {
        var response = message("Sign in", error: "This form has expired. Reload the page and try again.", links: [Link("Back to sign-in", "/login")], status: .forbidden)
        response.headers.append(HTTPField(name: .setCookie, value: "\(SignInPages.nonceCookie)=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0"))
        return response
    }

    /// A federated sign-in (SAML, OpenID Connect) that did not succeed; never says why.
    func signInFailed() -> Response {
        message("Sign-in failed", error: SAMLRoutes.refusedMessage, links: [Link("Back to sign-in", "/login")], status: .unauthorized)
    }
}
