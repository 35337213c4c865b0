import Foundation
@testable import Status
import Testing

/// A JSON value with its type kept exactly (a boolean is never a number).
indirect enum JSONValue: Decodable, Equatable {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    static func parse(_ data: Data) throws -> JSONValue { try JSONDecoder().decode(JSONValue.self, from: data) }

    var kind: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    subscript(key: String) -> JSONValue? {
        if case .object(let fields) = self { return fields[key] }
        return nil
    }

    var items: [JSONValue] {
        if case .array(let items) = self { return items }
        return []
    }

    var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// Where `actual` lacks a key of `self` or holds another type; a `null` here accepts anything.
    /// Every list of `self` must be matched by a non-empty list, so no shape goes unchecked.
    func mismatches(in actual: JSONValue, at path: String = "$") -> [String] {
        switch (self, actual) {
        case (.null, _):
            return []
        case (.object(let expected), .object(let fields)):
            return expected.sorted { $0.key < $1.key }.flatMap { key, value in
                guard let field = fields[key] else { return ["\(path).\(key): missing"] }
                return value.mismatches(in: field, at: "\(path).\(key)")
            }
        case (.array(let expected), .array(let items)):
            guard let shape = expected.first else { return [] }
            guard !items.isEmpty else { return ["\(path): empty, cannot be compared"] }
            return items.enumerated().flatMap { index, item in shape.mismatches(in: item, at: "\(path)[\(index)]") }
        default:
            return kind == actual.kind ? [] : ["\(path): \(actual.kind), documented as \(kind)"]
        }
    }
}

@Suite("Status: Statuspage API v2 shapes against the documented examples")
struct StatuspageShapeTests {
    static var fixture: JSONValue {
        get throws {
            let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("Fixtures/statuspage/summary.json")
            return try JSONValue.parse(try Data(contentsOf: url))
        }
    }

    /// A page with something in every list: an open incident, a running and an upcoming window, history.
    static func busySnapshot() throws -> PageSnapshot {
        let running = try StatusSamples.editor.schedule(
            .init(name: "Backup storage move", message: "Moving backups.", scheduledFor: StatusSamples.now.addingTimeInterval(-600),
                  scheduledUntil: StatusSamples.now.addingTimeInterval(3000), components: ["eu-backup"]),
            author: "alice", now: StatusSamples.now.addingTimeInterval(-7200))
        return StatusSamples.snapshot(
            statuses: ["eu-tickets": .partialOutage],
            incidents: [try StatusSamples.openIncident(), try StatusSamples.resolvedIncident()],
            maintenances: [running, try StatusSamples.upcomingMaintenance()]
        )
    }

    func document(_ build: [String: Any]) throws -> JSONValue {
        try JSONValue.parse(StatuspageDocuments.encode(build))
    }

    func part(_ fixture: JSONValue, _ keys: String...) -> JSONValue {
        .object(Dictionary(uniqueKeysWithValues: keys.compactMap { key in fixture[key].map { (key, $0) } }))
    }

    @Test func summaryHasEveryDocumentedFieldWithItsType() throws {
        let ours = try document(StatuspageDocuments.summary(try Self.busySnapshot()))
        #expect(try Self.fixture.mismatches(in: ours) == [])
    }

    @Test func everyOtherDocumentHasTheDocumentedParts() throws {
        let fixture = try Self.fixture
        let snapshot = try Self.busySnapshot()
        let incidentShape = part(fixture, "page").merging("incidents", fixture["incidents"])
        let maintenanceShape = part(fixture, "page").merging("scheduled_maintenances", fixture["scheduled_maintenances"])
        let cases: [(String, [String: Any], JSONValue)] = [
            ("status.json", StatuspageDocuments.statusDocument(snapshot), part(fixture, "page", "status")),
            ("components.json", StatuspageDocuments.componentsDocument(snapshot), part(fixture, "page", "components")),
            ("incidents.json", StatuspageDocuments.incidentsDocument(snapshot, unresolvedOnly: false), incidentShape),
            ("incidents/unresolved.json", StatuspageDocuments.incidentsDocument(snapshot, unresolvedOnly: true), incidentShape),
            ("scheduled-maintenances.json", StatuspageDocuments.maintenancesDocument(snapshot, .all), maintenanceShape),
            ("scheduled-maintenances/upcoming.json", StatuspageDocuments.maintenancesDocument(snapshot, .upcoming), maintenanceShape),
            ("scheduled-maintenances/active.json", StatuspageDocuments.maintenancesDocument(snapshot, .active), maintenanceShape),
        ]
        for (name, built, shape) in cases {
            #expect(shape.mismatches(in: try document(built)) == [], "\(name)")
        }
    }

    @Test func valuesUseStatuspagesVocabularyAndOneGroupPerRegion() throws {
        let ours = try document(StatuspageDocuments.summary(try Self.busySnapshot()))
        #expect(ours["status"]?["indicator"] == .string("major"))
        #expect(ours["status"]?["description"] == .string("Partial System Outage"))
        let components = ours["components"]?.items ?? []
        let groups = components.filter { $0["group"] == .bool(true) }
        #expect(groups.compactMap { $0["id"]?.string } == ["eu", "us"])
        #expect(groups.first?["components"]?.items.compactMap(\.string) == ["eu-gateway", "eu-identity", "eu-tickets", "eu-audit", "eu-backup", "eu-database"])
        #expect(components.filter { $0["group_id"] == .string("us") }.count == 6)
        #expect(components.first { $0["id"] == .string("eu-tickets") }?["status"] == .string("partial_outage"))
        // The running window puts its component under maintenance only through the page source; the document shows what it is given.
        let statuses = Set(ComponentStatus.allCases.map(\.rawValue))
        #expect(components.allSatisfy { $0["status"]?.string.map(statuses.contains) == true })
        let incident = try #require(ours["incidents"]?.items.first)
        #expect(incident["status"] == .string("identified"))
        #expect(incident["incident_updates"]?.items.compactMap { $0["status"]?.string } == ["identified", "investigating"])
        #expect(incident["components"]?.items.compactMap { $0["id"]?.string } == ["eu-tickets"])
        let windows = ours["scheduled_maintenances"]?.items ?? []
        #expect(windows.compactMap { $0["status"]?.string } == ["in_progress", "scheduled"])
        // Times parse as ISO 8601 with fractional seconds, as Statuspage writes them.
        let time = try #require(incident["created_at"]?.string)
        #expect((try? Date(time, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))) != nil)
    }

    @Test func theIndicatorFollowsTheWorstComponentAndOpenIncidents() throws {
        #expect(StatusSamples.snapshot().indicator == Incident.Impact.none)
        #expect(StatusSamples.snapshot().indicatorDescription == "All Systems Operational")
        #expect(StatusSamples.snapshot(statuses: ["us-audit": .degradedPerformance]).indicator == .minor)
        #expect(StatusSamples.snapshot(statuses: ["us-audit": .majorOutage]).indicator == .critical)
        #expect(StatusSamples.snapshot(statuses: ["eu-database": .underMaintenance]).indicator == .maintenance)
        #expect(StatusSamples.snapshot(statuses: ["eu-database": .underMaintenance], incidents: [try StatusSamples.openIncident()]).indicator == .major)
        #expect(StatusSamples.snapshot(incidents: [try StatusSamples.resolvedIncident()]).indicator == Incident.Impact.none)
    }
}

extension JSONValue {
    /// This object with `key` set to `value`.
    func merging(_ key: String, _ value: JSONValue?) -> JSONValue {
        guard case .object(var fields) = self, let value else { return self }
        fields[key] = value
        return .object(fields)
    }
}
