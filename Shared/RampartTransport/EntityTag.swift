import Foundation
import HTTPTypes

/// Entity tags as the services' APIs use them for optimistic concurrency (RFC 9110 §8.8.3,
/// §13.1.1): a resource's `ETag` names its current version, and a change sent with `If-Match`
/// applies only to that version.
public enum EntityTag {
    /// `If-Match` could not be read: a list of tags, or a tag without its quotes.
    public struct Malformed: Error {}

    /// The opaque tag `If-Match` names (`"abc"` or the weak `W/"abc"`, compared alike); `nil`
    /// when the header is absent or `*` (any version).
    public static func ifMatch(_ headers: HTTPFields) throws(Malformed) -> String? {
        guard let raw = headers[.ifMatch]?.trimmingCharacters(in: .whitespaces) else { return nil }
        if raw == "*" { return nil }
        let tag = raw.hasPrefix("W/") ? raw.dropFirst(2) : Substring(raw)
        guard tag.count >= 2, tag.hasPrefix("\""), tag.hasSuffix("\"") else { throw Malformed() }
        let opaque = tag.dropFirst().dropLast()
        // etagc (§8.8.3): no quote inside, and no list of tags.
        guard !opaque.contains("\"") else { throw Malformed() }
        return String(opaque)
    }

    /// The strong `ETag` value for the opaque `tag`.
    public static func quoted(_ tag: String) -> String { "\"\(tag)\"" }

    /// The answer when `If-Match` names another version than the current one, or cannot be
    /// read: 412 `version_mismatch`, nothing changed; `detail` says what to fetch again.
    public static func mismatch(detail: String) -> ProblemError {
        ProblemError(status: .preconditionFailed, code: "version_mismatch", title: "Precondition failed", detail: detail)
    }
}
