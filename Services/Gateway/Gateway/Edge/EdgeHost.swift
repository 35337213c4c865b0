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
        self.init(name: name, baseDomain: baseDomain, regions: regions)
    }

    /// The same for a host name already read by ``name(of:)`` (lowercased, without a port).
    init?(name: String, baseDomain: String, regions: [Region]) {
        // `{labels}.{base-domain}`, checked as bytes without building either string (this runs per request).
        let nameBytes = name.utf8, domainBytes = baseDomain.utf8
        guard nameBytes.count > domainBytes.count + 1, nameBytes.suffix(domainBytes.count).elementsEqual(domainBytes),
              nameBytes[nameBytes.index(nameBytes.endIndex, offsetBy: -domainBytes.count - 1)] == UInt8(ascii: ".")
        else { return nil }
        let head = nameBytes.dropLast(domainBytes.count + 1)
        if head.elementsEqual("status".utf8) {
            self = .status
            return
        }
        // Exactly two labels: `{tenant}.{region}`.
        guard let dot = head.firstIndex(of: UInt8(ascii: ".")), !head[head.index(after: dot)...].contains(UInt8(ascii: ".")),
              let region = Region(rawValue: String(Substring(head[head.index(after: dot)...]))), regions.contains(region),
              let tenant = TenantSlug(rawValue: String(Substring(head[..<dot])))
        else { return nil }
        self = .tenant(tenant, region)
    }

    /// The lowercased host name without its port, if `host` is a plausible DNS name (ASCII
    /// letters, digits, `-` and `.`, no empty label) and port. One pass over the bytes.
    public static func name(of host: String) -> String? {
        let bytes = host.utf8
        guard (1...255).contains(bytes.count) else { return nil }
        var nameEnd = bytes.endIndex
        if let colon = bytes.lastIndex(of: UInt8(ascii: ":")) {
            let port = bytes[bytes.index(after: colon)...]
            guard !port.isEmpty, port.count <= 5, port.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else { return nil }
            nameEnd = colon
        }
        var lowered: [UInt8] = []
        lowered.reserveCapacity(bytes.count)
        // A dot first, or after another dot, is an empty label.
        var previous = UInt8(ascii: ".")
        for byte in bytes[..<nameEnd] {
            let lower = (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 : byte
            guard (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(lower) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(lower)
                || lower == UInt8(ascii: "-") || lower == UInt8(ascii: ".")
            else { return nil }
            if lower == UInt8(ascii: "."), previous == UInt8(ascii: ".") { return nil }
            lowered.append(lower)
            previous = lower
        }
        guard !lowered.isEmpty, previous != UInt8(ascii: ".") else { return nil }
        return String(decoding: lowered, as: UTF8.self)
    }
}
