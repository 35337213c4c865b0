/// A path pattern from the rules file: segments matched literally, `*` matching one segment and a
/// final `**` matching any rest (`/api/v1/tickets/*/messages`, `/api/v1/auth/**`).
struct RoutePattern: Sendable, Equatable {
    let pattern: String
    private let segments: [Substring]

    /// A pattern; nil unless it starts with `/`.
    init?(_ pattern: String) {
        guard pattern.hasPrefix("/") else { return nil }
        self.pattern = pattern
        self.segments = pattern.split(separator: "/", omittingEmptySubsequences: true)
    }

    /// Whether `path` (decoded, without query) matches.
    func matches(_ path: some StringProtocol) -> Bool {
        matches(segments: path.split(separator: "/", omittingEmptySubsequences: true).map { Substring($0) })
    }

    /// Whether a path already split into its segments matches.
    func matches(segments path: [Substring]) -> Bool {
        var remaining = path[...]
        for (index, segment) in segments.enumerated() {
            if segment == "**", index == segments.count - 1 { return true }
            guard let next = remaining.popFirst() else { return false }
            if segment != "*", segment != next { return false }
        }
        return remaining.isEmpty
    }
}
