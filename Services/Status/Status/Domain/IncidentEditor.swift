import Foundation
import RampartCore

/// Validates operator writes and turns them into new incident revisions: names and texts must be
/// non-empty, components must exist, statuses only move forward within their kind.
public struct IncidentEditor: Sendable {
    /// Every region of the installation (component ids name one of them).
    public let regions: [Region]
    /// The region of the instance taking the write.
    public let origin: Region

    public init(regions: [Region], origin: Region) {
        self.regions = regions
        self.origin = origin
    }

    /// `POST /internal/v1/operator/incidents`.
    public struct NewIncident: Decodable, Sendable {
        public var name: String
        public var message: String
        public var impact: String?
        public var status: String?
        public var components: [String]?
        public var security: Bool?
    }

    /// `POST /internal/v1/operator/maintenances`.
    public struct NewMaintenance: Decodable, Sendable {
        public var name: String
        public var message: String
        public var scheduledFor: Date
        public var scheduledUntil: Date
        public var components: [String]?

        enum CodingKeys: String, CodingKey {
            case name, message, components
            case scheduledFor = "scheduled_for"
            case scheduledUntil = "scheduled_until"
        }
    }

    /// `POST …/{id}/updates`: the next status and what to tell readers; impact and components
    /// may change with it.
    public struct NewUpdate: Decodable, Sendable {
        public var status: String
        public var message: String
        public var impact: String?
        public var components: [String]?
    }

    static let maximumName = 200
    static let maximumMessage = 5000
    /// A window longer than this is a typing mistake, not maintenance.
    static let maximumWindow: TimeInterval = 7 * 86400

    public func create(_ input: NewIncident, author: String, now: Date) throws(StatusError) -> Incident {
        var errors: [ProblemDetails.FieldError] = []
        let name = text(input.name, field: "name", limit: Self.maximumName, errors: &errors)
        let body = text(input.message, field: "message", limit: Self.maximumMessage, errors: &errors)
        let components = componentIDs(input.components ?? [], errors: &errors)
        let impact = parse(input.impact ?? "minor", as: Incident.Impact.self, field: "impact", errors: &errors)
        let status = parse(input.status ?? "investigating", as: Incident.Status.self, field: "status", errors: &errors)
        if impact == .maintenance { errors.append(.init(field: "impact", message: "Use none, minor, major or critical for an incident.")) }
        if let status, status.kind != .incident || status.isClosed {
            errors.append(.init(field: "status", message: "A new incident starts as investigating, identified or monitoring."))
        }
        guard errors.isEmpty, let impact, let status else { throw .invalid(errors) }
        let update = Incident.Update(id: UUIDv7.make(at: now), status: status, body: body, componentIDs: components, author: author, createdAt: now)
        return Incident(
            id: UUIDv7.make(at: now), kind: .incident, name: name, status: status, impact: impact, security: input.security ?? false,
            componentIDs: components, scheduledFor: nil, scheduledUntil: nil, createdAt: now, updatedAt: now,
            monitoringAt: status == .monitoring ? now : nil, resolvedAt: nil, revision: 1, originRegion: origin.rawValue, updates: [update]
        )
    }

    public func schedule(_ input: NewMaintenance, author: String, now: Date) throws(StatusError) -> Incident {
        var errors: [ProblemDetails.FieldError] = []
        let name = text(input.name, field: "name", limit: Self.maximumName, errors: &errors)
        let body = text(input.message, field: "message", limit: Self.maximumMessage, errors: &errors)
        let components = componentIDs(input.components ?? [], errors: &errors)
        if input.scheduledUntil <= input.scheduledFor {
            errors.append(.init(field: "scheduled_until", message: "Must be after scheduled_for."))
        } else if input.scheduledUntil.timeIntervalSince(input.scheduledFor) > Self.maximumWindow {
            errors.append(.init(field: "scheduled_until", message: "A window may last at most 7 days."))
        }
        if input.scheduledUntil <= now { errors.append(.init(field: "scheduled_until", message: "Must be in the future.")) }
        guard errors.isEmpty else { throw .invalid(errors) }
        let update = Incident.Update(id: UUIDv7.make(at: now), status: .scheduled, body: body, componentIDs: components, author: author, createdAt: now)
        return Incident(
            id: UUIDv7.make(at: now), kind: .maintenance, name: name, status: .scheduled, impact: .maintenance, security: false,
            componentIDs: components, scheduledFor: input.scheduledFor, scheduledUntil: input.scheduledUntil, createdAt: now, updatedAt: now,
            monitoringAt: nil, resolvedAt: nil, revision: 1, originRegion: origin.rawValue, updates: [update]
        )
    }

    /// The next revision of `incident` after `input`; the history gains one entry.
    public func update(_ incident: Incident, with input: NewUpdate, author: String, now: Date) throws(StatusError) -> Incident {
        let current = incident.effectiveStatus(at: now)
        guard !incident.status.isClosed else { throw .closed }
        var errors: [ProblemDetails.FieldError] = []
        let body = text(input.message, field: "message", limit: Self.maximumMessage, errors: &errors)
        let status = parse(input.status, as: Incident.Status.self, field: "status", errors: &errors)
        let components = input.components.map { componentIDs($0, errors: &errors) }
        let impact = input.impact.flatMap { parse($0, as: Incident.Impact.self, field: "impact", errors: &errors) }
        if let impact, (impact == .maintenance) != (incident.kind == .maintenance) {
            errors.append(.init(field: "impact", message: incident.kind == .maintenance ? "A maintenance window's impact is maintenance." : "Use none, minor, major or critical for an incident."))
        }
        guard errors.isEmpty, let status else { throw .invalid(errors) }
        guard status.kind == incident.kind else { throw .wrongKind(status) }
        guard status.step >= current.step else { throw .backwards(from: current, to: status) }

        var next = incident
        next.status = status
        next.impact = impact ?? incident.impact
        next.componentIDs = components ?? incident.componentIDs
        next.updatedAt = now
        next.revision = incident.revision + 1
        next.originRegion = origin.rawValue
        if status == .monitoring, next.monitoringAt == nil { next.monitoringAt = now }
        if status.isClosed { next.resolvedAt = now }
        next.updates.insert(Incident.Update(id: UUIDv7.make(at: now), status: status, body: body, componentIDs: next.componentIDs, author: author, createdAt: now), at: 0)
        return next
    }

    /// Trimmed text of 1…`limit` characters, or a field error.
    private func text(_ raw: String, field: String, limit: Int, errors: inout [ProblemDetails.FieldError]) -> String {
        let trimmed = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty {
            errors.append(.init(field: field, message: "Must not be empty."))
        } else if trimmed.count > limit {
            errors.append(.init(field: field, message: "Use at most \(limit) characters."))
        }
        return trimmed
    }

    /// Known component ids, in the order given, without repeats.
    private func componentIDs(_ raw: [String], errors: inout [ProblemDetails.FieldError]) -> [String] {
        var seen: [String] = []
        for id in raw {
            guard Component(id: id, regions: regions) != nil else {
                errors.append(.init(field: "components", message: "Unknown component: \(id.prefix(40))."))
                continue
            }
            if !seen.contains(id) { seen.append(id) }
        }
        return seen
    }

    private func parse<T: RawRepresentable & CaseIterable>(_ raw: String, as type: T.Type, field: String, errors: inout [ProblemDetails.FieldError]) -> T? where T.RawValue == String {
        if let value = T(rawValue: raw) { return value }
        errors.append(.init(field: field, message: "Use one of: \(T.allCases.map(\.rawValue).joined(separator: ", "))."))
        return nil
    }
}
