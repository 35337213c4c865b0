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

    /// Segment-wise prefix match; a prefix ending in `/` covers everything beneath it. Compared
    /// as bytes, without building strings (this runs per request and route).
    static func matches(prefix: String, path: String) -> Bool {
        let prefixBytes = prefix.utf8, pathBytes = path.utf8
        if prefixBytes.last == UInt8(ascii: "/") {
            return pathBytes.starts(with: prefixBytes) || pathBytes.elementsEqual(prefixBytes.dropLast())
        }
        guard pathBytes.starts(with: prefixBytes) else { return false }
        let rest = pathBytes.dropFirst(prefixBytes.count)
        return rest.isEmpty || rest.first == UInt8(ascii: "/")
    }
}
