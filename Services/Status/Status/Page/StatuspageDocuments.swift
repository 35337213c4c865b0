import Foundation
import RampartCore

/// The Statuspage public API v2 documents (`/api/v2/*.json`): the same paths, field names and
/// shapes as Atlassian's, with one component group per region, so existing clients and widgets
/// work unchanged. Optional fields are written as `null`, as Statuspage does.
enum StatuspageDocuments {
    static let pageID = "rampart"

    static func page(_ snapshot: PageSnapshot) -> [String: Any] {
        ["id": pageID, "name": "Rampart", "url": snapshot.publicURL, "time_zone": "Etc/UTC", "updated_at": Markup.iso(snapshot.updatedAt)]
    }

    static func status(_ snapshot: PageSnapshot) -> [String: Any] {
        ["indicator": snapshot.indicator.rawValue, "description": snapshot.indicatorDescription]
    }

    static func summary(_ snapshot: PageSnapshot) -> [String: Any] {
        [
            "page": page(snapshot),
            "status": status(snapshot),
            "components": components(snapshot),
            "incidents": snapshot.unresolved.map { incident($0, snapshot) },
            "scheduled_maintenances": (snapshot.activeMaintenances + snapshot.upcomingMaintenances).map { incident($0, snapshot) },
        ]
    }

    /// `/api/v2/status.json`.
    static func statusDocument(_ snapshot: PageSnapshot) -> [String: Any] {
        ["page": page(snapshot), "status": status(snapshot)]
    }

    /// `/api/v2/components.json`.
    static func componentsDocument(_ snapshot: PageSnapshot) -> [String: Any] {
        ["page": page(snapshot), "components": components(snapshot)]
    }

    /// `/api/v2/incidents.json` (the 50 most recent) and `incidents/unresolved.json`.
    static func incidentsDocument(_ snapshot: PageSnapshot, unresolvedOnly: Bool) -> [String: Any] {
        let list = unresolvedOnly ? snapshot.unresolved : Array(snapshot.incidents.prefix(50))
        return ["page": page(snapshot), "incidents": list.map { incident($0, snapshot) }]
    }

    /// Which maintenance windows a `scheduled-maintenances` document lists.
    enum MaintenanceFilter { case all, upcoming, active }

    static func maintenancesDocument(_ snapshot: PageSnapshot, _ filter: MaintenanceFilter) -> [String: Any] {
        let list = switch filter {
        case .all: Array(snapshot.maintenances.prefix(50))
        case .upcoming: snapshot.upcomingMaintenances
        case .active: snapshot.activeMaintenances
        }
        return ["page": page(snapshot), "scheduled_maintenances": list.map { incident($0, snapshot) }]
    }

    /// Every region as a group followed by its components, positions in page order.
    static func components(_ snapshot: PageSnapshot) -> [[String: Any]] {
        var position = 0
        var result: [[String: Any]] = []
        for region in snapshot.regions {
            position += 1
            var group = componentObject(id: region.region.rawValue, name: "Region \(region.region.rawValue.uppercased())", status: region.status,
                                        position: position, groupID: nil, snapshot: snapshot)
            group["group"] = true
            group["components"] = region.components.map(\.component.id)
            result.append(group)
            for view in region.components {
                position += 1
                result.append(componentObject(id: view.component.id, name: view.component.kind.displayName, status: view.status,
                                              position: position, groupID: region.region.rawValue, snapshot: snapshot))
            }
        }
        return result
    }

    private static func componentObject(id: String, name: String, status: ComponentStatus, position: Int, groupID: String?, snapshot: PageSnapshot) -> [String: Any] {
        var object: [String: Any] = ["id": id, "name": name, "status": status.rawValue, "position": position, "page_id": pageID]
        // Components are configuration, not records: they exist since the first measured day.
        object["created_at"] = Markup.iso(firstDay(snapshot))
        object["updated_at"] = Markup.iso(snapshot.lastProbe ?? snapshot.generatedAt)
        object["description"] = NSNull()
        object["showcase"] = true
        object["start_date"] = NSNull()
        object["group_id"] = nullable(groupID)
        object["group"] = false
        object["only_show_if_degraded"] = false
        return object
    }

    /// The first day any probe data exists for, or today.
    private static func firstDay(_ snapshot: PageSnapshot) -> Date {
        snapshot.regions.compactMap { $0.days.first(where: { $0.uptime != nil })?.day.start }.min() ?? DayStamp(snapshot.generatedAt).start
    }

    static func incident(_ incident: Incident, _ snapshot: PageSnapshot) -> [String: Any] {
        let id = incident.id.uuidString.lowercased()
        var object: [String: Any] = ["id": id, "name": incident.name, "impact": incident.impact.rawValue, "page_id": pageID]
        object["status"] = incident.effectiveStatus(at: snapshot.generatedAt).rawValue
        object["created_at"] = Markup.iso(incident.createdAt)
        object["updated_at"] = Markup.iso(incident.updatedAt)
        object["started_at"] = Markup.iso(incident.scheduledFor ?? incident.createdAt)
        object["monitoring_at"] = nullable(incident.monitoringAt.map(Markup.iso))
        object["resolved_at"] = nullable(incident.resolvedAt.map(Markup.iso))
        object["shortlink"] = "\(snapshot.publicURL)/#incident-\(id)"
        object["incident_updates"] = incident.updates.map { update($0, of: incident, snapshot) }
        object["components"] = components(snapshot).filter { ($0["id"] as? String).map(incident.componentIDs.contains) == true }
        if incident.kind == .maintenance {
            object["scheduled_for"] = nullable(incident.scheduledFor.map(Markup.iso))
            object["scheduled_until"] = nullable(incident.scheduledUntil.map(Markup.iso))
        }
        return object
    }

    static func update(_ update: Incident.Update, of incident: Incident, _ snapshot: PageSnapshot) -> [String: Any] {
        var object: [String: Any] = ["id": update.id.uuidString.lowercased(), "incident_id": incident.id.uuidString.lowercased()]
        object["status"] = update.status.rawValue
        object["body"] = update.body
        object["created_at"] = Markup.iso(update.createdAt)
        object["updated_at"] = Markup.iso(update.createdAt)
        object["display_at"] = Markup.iso(update.createdAt)
        let affected: [[String: Any]] = update.componentIDs.compactMap { componentID in
            guard let view = snapshot.components.first(where: { $0.component.id == componentID }) else { return nil }
            return ["code": componentID, "name": view.component.kind.displayName, "old_status": view.status.rawValue, "new_status": view.status.rawValue]
        }
        object["affected_components"] = affected.isEmpty ? NSNull() as Any : affected as Any
        object["deliver_notifications"] = true
        object["custom_tweet"] = NSNull()
        object["tweet_id"] = NSNull()
        return object
    }

    /// `value`, or JSON `null`.
    private static func nullable(_ value: String?) -> Any {
        value.map { $0 as Any } ?? NSNull()
    }

    /// The document as JSON bytes, keys sorted.
    static func encode(_ document: [String: Any]) -> Data {
        (try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
    }
}
