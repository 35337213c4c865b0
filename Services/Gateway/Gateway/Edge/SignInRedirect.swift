import Foundation
import HTTPTypes
import Hummingbird

/// A browser opening a page that needs a session, without one or with one that expired, is sent
/// to sign in and then back where it was: 303 to `/login?return_to=<path and query>` instead of
/// the 401 problem document API clients get. Only page loads (GET or HEAD asking for
/// `text/html`) are redirected; anything else keeps the 401.
struct SignInRedirect: Error, Sendable {
    let location: String

    /// The redirect for a page load of `target` (already checked canonical: a local path with
    /// printable ASCII only, so it can only name this host), or `nil` for anything else.
    static func forPageLoad(_ request: Request, target: String) -> SignInRedirect? {
        guard request.method == .get || request.method == .head, target.hasPrefix("/"), !target.hasPrefix("//"),
              request.headers[values: .accept].contains(where: { $0.lowercased().contains("text/html") })
        else { return nil }
        // Identity checks return_to again (a local path only) before it redirects back.
        return SignInRedirect(location: "/login?return_to=" + (target.addingPercentEncoding(withAllowedCharacters: queryValueAllowed) ?? "%2F"))
    }

    /// The answer: no body, never cached.
    var response: Response {
        Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
    }

    /// Unreserved characters (RFC 3986): everything else in the path is percent-encoded.
    static let queryValueAllowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
}
