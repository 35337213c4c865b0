import RampartCore

/// What a region is made of, as the page shows it: the five services the public depends on and
/// the region database.
public enum ComponentKind: String, Codable, Sendable, CaseIterable {
    case gateway, identity, tickets, audit, backup, database

    /// The page's name for the component.
    public var displayName: String {
        switch self {
        case .gateway: "Gateway and API"
        case .identity: "Sign-in and identity"
        case .tickets: "Tickets"
        case .audit: "Audit log"
        case .backup: "Backups and exports"
        case .database: "Region database"
        }
    }

    /// The service probed for this component; the database has none of its own (it is read from
    /// the services' readiness reports).
    public var service: ServiceName? {
        switch self {
        case .gateway: .gateway
        case .identity: .identity
        case .tickets: .tickets
        case .audit: .audit
        case .backup: .backup
        case .database: nil
        }
    }
}

/// One component of one region; its id (`eu-tickets`) is what the JSON API, incidents and
/// maintenance windows refer to.
public struct Component: Hashable, Sendable {
    public let region: Region
    public let kind: ComponentKind

    public init(region: Region, kind: ComponentKind) {
        self.region = region
        self.kind = kind
    }

    /// Parses an id such as `eu-tickets`; `nil` when region or kind is unknown.
    public init?(id: String, regions: [Region]) {
        guard let dash = id.firstIndex(of: "-"),
              let region = Region(rawValue: String(id[..<dash])), regions.contains(region),
              let kind = ComponentKind(rawValue: String(id[id.index(after: dash)...]))
        else { return nil }
        self.init(region: region, kind: kind)
    }

    public var id: String { "\(region)-\(kind.rawValue)" }

    /// Every component of `regions`, in page order (regions as configured, kinds as declared).
    public static func all(in regions: [Region]) -> [Component] {
        regions.flatMap { region in ComponentKind.allCases.map { Component(region: region, kind: $0) } }
    }
}
