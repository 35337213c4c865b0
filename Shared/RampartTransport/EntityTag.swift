import Crypto
import Foundation
import HTTPTypes
import RampartCore

/// Entity tags as the services' APIs use them for optimistic concurrency (RFC 9110 §8.8.3,
/// §13.1.1): a resource's `ETag` names its current version, and a change sent with `If-Match`
/// applies only to that version.
public enum EntityTag {
    /// `If-Match` could not be read: something other than `*` or a list of quoted tags.
    public struct Malformed: Error {}

    /// What an `If-Match` that is not `*` asks for: that the current version be one of the
    /// strong tags it lists. Comparison is strong (§13.1.1): a weak tag (`W/"3"`) never
    /// matches, so a list of weak tags only admits no version at all.
    public struct Precondition: Sendable, Equatable {
        /// The opaque parts of the strong tags listed, in order.
        public let tags: [String]

        public init(tags: [String]) { self.tags = tags }

        /// Whether a change to the version with opaque tag `current` may apply.
        public func admits(_ current: String) -> Bool { tags.contains(current) }
    }

    /// The precondition `If-Match` sets; `nil` when the header is absent or `*` (any version).
    /// Several `If-Match` fields read as one list.
    public static func ifMatch(_ headers: HTTPFields) throws(Malformed) -> Precondition? {
        let values = headers[values: .ifMatch]
        if values.isEmpty { return nil }
        if values.count == 1, values[0].trimmingCharacters(in: .whitespaces) == "*" { return nil }
        var strong: [String] = []
        for value in values {
            for (opaque, weak) in try list(value) where !weak { strong.append(opaque) }
        }
        return Precondition(tags: strong)
    }

    /// `If-Match` as a check of the current version, for a repository to run under its lock: it
    /// throws `mismatch` unless the header admits that version (no header, or `*`: no check). A
    /// malformed header throws `mismatch` at once.
    public static func check(_ headers: HTTPFields, mismatch: any Error & Sendable) throws -> @Sendable (String) throws -> Void {
        let expected: Precondition?
        do { expected = try ifMatch(headers) } catch { throw mismatch }
        return { current in
            if let expected, !expected.admits(current) { throw mismatch }
        }
    }

    /// `1#entity-tag` (§8.8.3, §5.6.1): tags separated by commas and optional white space;
    /// empty elements are ignored, but at least one tag is needed.
    private static func list(_ value: String) throws(Malformed) -> [(opaque: String, weak: Bool)] {
        var tags: [(opaque: String, weak: Bool)] = []
        var rest = Substring(value)
        while true {
            rest = rest.drop { $0 == " " || $0 == "\t" || $0 == "," }
            if rest.isEmpty { break }
            let weak = rest.hasPrefix("W/")
            if weak { rest = rest.dropFirst(2) }
            guard rest.first == "\"", let close = rest.dropFirst().firstIndex(of: "\"") else { throw Malformed() }
            let opaque = rest[rest.index(after: rest.startIndex)..<close]
            // etagc: visible ASCII other than the quote, or obs-text.
            guard opaque.unicodeScalars.allSatisfy({ $0.value == 0x21 || (0x23...0x7E).contains($0.value) || $0.value >= 0x80 }) else { throw Malformed() }
            tags.append((String(opaque), weak))
            rest = rest[rest.index(after: close)...].drop { $0 == " " || $0 == "\t" }
            guard rest.isEmpty || rest.first == "," else { throw Malformed() }
        }
        guard !tags.isEmpty else { throw Malformed() }
        return tags
    }

    /// A version that is the content itself: 16 bytes of the SHA-256 of `value` as JSON with
    /// sorted keys, in hex. The same content always has the same version and any change gives
    /// another, with nothing stored; used where a resource has no version counter of its own.
    public static func version(of value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        // Plain values (numbers, flags, names, ids): encoding them cannot fail.
        let json = (try? encoder.encode(value)) ?? Data()
        return Hex.encode(SHA256.hash(data: json).prefix(16))
    }

    /// The strong `ETag` value for the opaque `tag`.
    public static func quoted(_ tag: String) -> String { "\"\(tag)\"" }

    /// The answer when `If-Match` names another version than the current one, or cannot be
    /// read: 412 `version_mismatch`, nothing changed; `detail` says what to fetch again.
    public static func mismatch(detail: String) -> ProblemError {
        ProblemError(status: .preconditionFailed, code: "version_mismatch", title: "Precondition failed", detail: detail)
    }
}
