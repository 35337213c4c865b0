import Foundation
import HTTPTypes
import Hummingbird
import RampartCore

/// A browser opening a page that needs a session, without one or with one that expired, is sent
/// to sign in and then back where it was: 303 to `/login?return_to=<path and query>` instead of
/// the 401 problem document API clients get. Page loads (GET or HEAD asking for `text/html`) come
/// back to the page; a form sent from one of our pages (`csrf: form` routes) comes back to the
/// page the form was on, named by the browser's same-origin `Referer` (the console's script keeps
/// what was typed in it meanwhile). Anything else keeps the 401.
struct SignInRedirect: Error, Sendable {
    let location: String

    /// The redirect for a browser's request of `target` (already checked canonical: a local path
    /// with printable ASCII only, so it can only name this host) on `authority`, or `nil` for
    /// anything else.
    static func forBrowser(_ request: Request, target: String, authority: String, route: EdgePolicy.Route) -> SignInRedirect? {
        guard target.hasPrefix("/"), !target.hasPrefix("//"),
              request.headers[values: .accept].contains(where: { $0.lowercased().contains("text/html") })
        else { return nil }
        switch request.method {
        case .get, .head:
            return SignInRedirect(returningTo: target)
        case .post where route.csrf == .form && isForm(request.headers[.contentType]):
            return SignInRedirect(returningTo: formPage(referer: request.headers[.referer], authority: authority))
        default:
            return nil
        }
    }

    private init(returningTo path: String) {
        location = LocalPath.signIn(returningTo: path)
    }

    private static func isForm(_ contentType: String?) -> Bool {
        MediaType.isForm(contentType) || MediaType.of(contentType) == "multipart/form-data"
    }

    /// The path and query of a `Referer` on this very origin; `/` for any other (or none).
    static func formPage(referer: String?, authority: String) -> String {
        let origin = "https://" + authority.lowercased()
        guard let referer, referer.lowercased().hasPrefix(origin + "/") else { return "/" }
        let path = String(referer.dropFirst(origin.count)).split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init)
        return LocalPath.safe(path)
    }

    /// The answer: no body, never cached.
    var response: Response {
        Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
    }
}
