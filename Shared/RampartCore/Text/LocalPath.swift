import Foundation

/// Paths on this host taken from input (a `return_to`, a `Referer`, a form's way back), and the
/// sign-in address that carries one: every page, and the edge, build them here, so no link or
/// redirect built from input leaves the site.
public enum LocalPath {
    /// `candidate` when it is a path on this host, otherwise `/`: never another host (`//x`),
    /// a scheme, a backslash or a control character.
    public static func safe(_ candidate: String?) -> String {
        guard let candidate, candidate.utf8.count <= 2000, candidate.hasPrefix("/"), !candidate.hasPrefix("//"),
              !candidate.contains("\\"), !candidate.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
        else { return "/" }
        return candidate
    }

    /// Where a browser without a usable session goes: `/login?return_to=<path>`. Identity checks
    /// `return_to` again before it redirects back.
    public static func signIn(returningTo path: String?) -> String {
        "/login?return_to=" + (safe(path).addingPercentEncoding(withAllowedCharacters: .uriUnreserved) ?? "%2F")
    }
}

extension CharacterSet {
    /// Unreserved characters (RFC 3986), left as they are in a query value; everything else is
    /// percent-encoded.
    public static let uriUnreserved = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
}
