import Foundation
import NIOCore
import RampartCore

/// The account a sign-in attempt is for, as the rate limiter's `account` dimension counts it:
/// the `email` field of the body — JSON for `POST /auth/password`, a form for `POST /login`
/// (identity's SignInRoutes and SignInPages) — trimmed and lowercased as identity normalizes it,
/// so `" Ada@Example.com"` and `"ada@example.com"` count as one account.
enum SignInAccount: Equatable {
    /// No login name in the body (no body, another field, unparseable): the per-account limit
    /// does not count the request; the per-address sign-in limit still does.
    case absent
    case account(String)
    /// More than one `email` field with different values. Identity would pick one and the edge
    /// cannot know which, so such a request is refused rather than counted against a decoy.
    case ambiguous

    /// The login name's field in identity's sign-in JSON and form.
    static let field = "email"
    /// Identity refuses longer addresses; longer values are counted by this prefix, which bounds
    /// the memory a rate-limit key can take.
    static let maximumBytes = 320

    /// The account named by `body`, read as a form when `contentType` says so and as JSON
    /// otherwise (identity decodes JSON whatever the type says).
    static func find(body: ByteBuffer?, contentType: String?) -> SignInAccount {
        guard let body, body.readableBytes > 0 else { return .absent }
        let bytes = ArraySlice(body.readableBytesView)
        var found = Set<String>()
        if MediaType.isForm(contentType) {
            for pair in bytes.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
                let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
                // Decoding is tolerant and returns nil when nothing needed decoding.
                let name = URLDecoding.decode(parts[0], plusAsSpace: true) ?? Array(parts[0])
                guard name.elementsEqual(field.utf8) else { continue }
                let value = parts.count == 2 ? parts[1] : []
                found.insert(normalized(URLDecoding.decode(value, plusAsSpace: true) ?? Array(value)))
            }
        } else {
            _ = JSONFieldScanner.scan(bytes) { path, value, isName in
                if !isName, path == field { found.insert(normalized(value)) }
            }
        }
        guard found.count <= 1 else { return .ambiguous }
        guard let name = found.first, !name.isEmpty else { return .absent }
        return .account(name)
    }

    /// Trimmed of white space, lowercased, at most ``maximumBytes``.
    static func normalized(_ value: [UInt8]) -> String {
        let text = String(decoding: value.prefix(maximumBytes), as: UTF8.self)
        return text.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
    }
}
