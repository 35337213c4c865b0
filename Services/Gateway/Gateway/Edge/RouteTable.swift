import RampartCore

/// The edge policy's routes, looked up by path: the longest whole-segment prefix wins.
public struct RouteTable: Sendable {
    let routes: [EdgePolicy.Route]
    let blocked: [String]

    public init(routes: [EdgePolicy.Route], blocked: [String]) {
        // Longest first, so the first match is the most specific.
        self.routes = routes.sorted { $0.prefix.utf8.count > $1.prefix.utf8.count }
        self.blocked = blocked
    }

    /// The route for `path`, or `nil` when none matches or the path is blocked.
    public func route(for path: String) -> EdgePolicy.Route? {
        guard !blocked.contains(where: { Self.matches(prefix: $0, path: path) }) else { return nil }
        return routes.first { Self.matches(prefix: $0.prefix, path: path) }
    }

    /// Segment-wise prefix match; a prefix ending in `/` covers everything beneath it.
    static func matches(prefix: String, path: String) -> Bool {
        if prefix.hasSuffix("/") { return path.hasPrefix(prefix) || path == String(prefix.dropLast()) }
        return path == prefix || path.hasPrefix(prefix + "/")
    }
}
