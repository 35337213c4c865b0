import RampartCore

/// What a public request's `Host` names: a tenant in a region, the status page, or nothing we serve.
public enum EdgeHost: Sendable, Equatable {
    /// `{tenant}.{region}.{base-domain}`.
    case tenant(TenantSlug, Region)
    /// `status.{base-domain}`.
    case status

    /// Parses `Host` (an optional `:port` is ignored) against the base domain and the regions this
    /// edge fronts. Anything else — another domain, an unknown region, a malformed or reserved
    /// tenant label, extra labels — is `nil` (a 404 at the edge).
    public init?(host: String, baseDomain: String, regions: [Region]) {
        guard let name = Self.name(of: host) else { return nil }
        if name == "status.\(baseDomain)" {
            self = .status
            return
        }
        let suffix = ".\(baseDomain)"
        guard name.hasSuffix(suffix) else { return nil }
        let labels = name.dropLast(suffix.count).split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count == 2, let region = Region(rawValue: String(labels[1])), regions.contains(region),
              let tenant = TenantSlug(rawValue: String(labels[0]))
        else { return nil }
        self = .tenant(tenant, region)
    }

    /// The lowercased host name without its port, if `host` is a plausible DNS name (and port).
    public static func name(of host: String) -> String? {
        guard (1...255).contains(host.utf8.count) else { return nil }
        var name = Substring(host)
        if let colon = host.lastIndex(of: ":") {
            let port = host[host.index(after: colon)...]
            guard !port.isEmpty, port.count <= 5, port.allSatisfy(\.isASCII), port.allSatisfy(\.isNumber) else { return nil }
            name = host[..<colon]
        }
        let lowered = name.lowercased()
        guard !lowered.isEmpty, !lowered.hasPrefix("."), !lowered.hasSuffix("."), !lowered.contains(".."),
              lowered.utf8.allSatisfy({ byte in
                  (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                      || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
              })
        else { return nil }
        return lowered
    }
}
