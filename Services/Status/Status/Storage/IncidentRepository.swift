import Foundation
import PostgresNIO
import RampartCore
import RampartStorage

/// Incidents and maintenance windows in the `status` schema, with their full history and the
/// replication outbox: a write and the promise to deliver it to every other region commit together.
public struct IncidentRepository: Sendable {
    let database: Database
    /// Regions whose instances receive every write taken here.
    let peers: [Region]

    public init(database: Database, peers: [Region]) {
        self.database = database
        self.peers = peers
    }

    /// Stores a new incident or window and queues it for every peer.
    public func create(_ incident: Incident) async throws {
        try await database.withTransaction { connection in
            try await insert(incident, on: connection)
            try await queue(incident, on: connection)
        }
    }

    /// Applies `change` to the stored incident under a row lock and stores the new revision.
    public func update(id: UUID, _ change: @Sendable (Incident) throws -> Incident) async throws -> Incident {
        try await database.withTransaction { connection in
            guard let current = try await load(.id(id), on: connection, lock: true).first else { throw StatusError.notFound }
            let next = try change(current)
            try await connection.query("""
                UPDATE incidents SET status = \(next.status.rawValue), impact = \(next.impact.rawValue), component_ids = \(next.componentIDs),
                    updated_at = \(next.updatedAt), monitoring_at = \(next.monitoringAt), resolved_at = \(next.resolvedAt),
                    revision = \(next.revision), origin_region = \(next.originRegion)
                WHERE id = \(next.id)
                """, logger: database.logger)
            try await insertUpdates(next.updates, of: next.id, on: connection)
            try await queue(next, on: connection)
            return next
        }
    }

    /// Takes a copy from another instance: kept when it supersedes ours, its history merged in
    /// either way. Returns whether anything changed (a repeated delivery changes nothing).
    public func apply(_ replica: Incident) async throws -> Bool {
        try await database.withTransaction { connection in
            let existing = try await load(.id(replica.id), on: connection, lock: true).first
            guard let existing else {
                try await insert(replica, on: connection)
                return true
            }
            let known = Set(existing.updates.map(\.id))
            let newUpdates = replica.updates.filter { !known.contains($0.id) }
            try await insertUpdates(newUpdates, of: replica.id, on: connection)
            guard replica.supersedes(existing) else { return !newUpdates.isEmpty }
            try await connection.query("""
                UPDATE incidents SET name = \(replica.name), status = \(replica.status.rawValue), impact = \(replica.impact.rawValue),
                    security = \(replica.security), component_ids = \(replica.componentIDs), scheduled_for = \(replica.scheduledFor),
                    scheduled_until = \(replica.scheduledUntil), updated_at = \(replica.updatedAt), monitoring_at = \(replica.monitoringAt),
                    resolved_at = \(replica.resolvedAt), revision = \(replica.revision), origin_region = \(replica.originRegion)
                WHERE id = \(replica.id)
                """, logger: database.logger)
            return true
        }
    }

    public func find(id: UUID) async throws -> Incident? {
        try await database.withTransaction { connection in
            try await load(.id(id), on: connection).first
        }
    }

    /// Incidents and windows created since `since` or still open, newest first, with their history.
    public func recent(since: Date) async throws -> [Incident] {
        try await database.withTransaction { connection in
            try await load(.recent(since: since), on: connection)
        }
    }

    // MARK: Replication outbox

    /// One delivery still owed: the current revision of an incident to one region.
    public struct Delivery: Sendable {
        public let incidentID: UUID
        public let target: Region
        public let revision: Int
        public let attempts: Int
    }

    /// Deliveries due at `now`, oldest first.
    public func dueDeliveries(now: Date, limit: Int = 50) async throws -> [Delivery] {
        let rows = try await database.client.query("""
            SELECT incident_id, target_region, revision, attempts FROM replication_outbox
            WHERE delivered_revision < revision AND next_attempt_at <= \(now)
            ORDER BY next_attempt_at LIMIT \(limit)
            """, logger: database.logger)
        var due: [Delivery] = []
        for try await (id, target, revision, attempts) in rows.decode((UUID, String, Int, Int).self) {
            guard let region = Region(rawValue: target) else { continue }
            due.append(Delivery(incidentID: id, target: region, revision: revision, attempts: attempts))
        }
        return due
    }

    /// Records the outcome of one attempt: delivered, or retried at `retryAt`.
    public func settle(_ delivery: Delivery, delivered: Bool, retryAt: Date) async throws {
        if delivered {
            try await database.client.query("""
                UPDATE replication_outbox SET delivered_revision = GREATEST(delivered_revision, \(delivery.revision)), attempts = 0
                WHERE incident_id = \(delivery.incidentID) AND target_region = \(delivery.target.rawValue)
                """, logger: database.logger)
        } else {
            try await database.client.query("""
                UPDATE replication_outbox SET attempts = attempts + 1, next_attempt_at = \(retryAt)
                WHERE incident_id = \(delivery.incidentID) AND target_region = \(delivery.target.rawValue)
                """, logger: database.logger)
        }
    }

    /// Deliveries not yet made, per region (for the operator's view).
    public func undelivered() async throws -> [String: Int] {
        let rows = try await database.client.query("""
            SELECT target_region, count(*)::int8 FROM replication_outbox WHERE delivered_revision < revision GROUP BY target_region
            """, logger: database.logger)
        var result: [String: Int] = [:]
        for try await (region, count) in rows.decode((String, Int).self) { result[region] = count }
        return result
    }

    // MARK: Rows

    private func insert(_ incident: Incident, on connection: PostgresConnection) async throws {
        try await connection.query("""
            INSERT INTO incidents (id, kind, name, status, impact, security, component_ids, scheduled_for, scheduled_until,
                                   created_at, updated_at, monitoring_at, resolved_at, revision, origin_region)
            VALUES (\(incident.id), \(incident.kind.rawValue), \(incident.name), \(incident.status.rawValue), \(incident.impact.rawValue),
                    \(incident.security), \(incident.componentIDs), \(incident.scheduledFor), \(incident.scheduledUntil), \(incident.createdAt),
                    \(incident.updatedAt), \(incident.monitoringAt), \(incident.resolvedAt), \(incident.revision), \(incident.originRegion))
            """, logger: database.logger)
        try await insertUpdates(incident.updates, of: incident.id, on: connection)
    }

    private func insertUpdates(_ updates: [Incident.Update], of incident: UUID, on connection: PostgresConnection) async throws {
        for update in updates {
            try await connection.query("""
                INSERT INTO incident_updates (id, incident_id, status, body, component_ids, author, created_at)
                VALUES (\(update.id), \(incident), \(update.status.rawValue), \(update.body), \(update.componentIDs), \(update.author), \(update.createdAt))
                ON CONFLICT (id) DO NOTHING
                """, logger: database.logger)
        }
    }

    /// Owes every peer the incident's current revision (a newer write replaces an older one owed),
    /// due at once.
    private func queue(_ incident: Incident, on connection: PostgresConnection) async throws {
        for peer in peers {
            try await connection.query("""
                INSERT INTO replication_outbox (incident_id, target_region, revision, next_attempt_at)
                VALUES (\(incident.id), \(peer.rawValue), \(incident.revision), \(incident.updatedAt))
                ON CONFLICT (incident_id, target_region) DO UPDATE SET
                    revision = GREATEST(replication_outbox.revision, EXCLUDED.revision), next_attempt_at = EXCLUDED.next_attempt_at, attempts = 0
                """, logger: database.logger)
        }
    }

    /// Which incidents to load.
    private enum Filter {
        case id(UUID)
        case recent(since: Date)
    }

    private static let columns = """
        id, kind, name, status, impact, security, component_ids, scheduled_for, scheduled_until,
        created_at, updated_at, monitoring_at, resolved_at, revision, origin_region
        """

    /// Incidents matching `filter`, newest first, with their history; `lock` takes row locks.
    private func load(_ filter: Filter, on connection: PostgresConnection, lock: Bool = false) async throws -> [Incident] {
        let query: PostgresQuery = switch filter {
        case .id(let id):
            "SELECT \(unescaped: Self.columns) FROM incidents WHERE id = \(id) \(unescaped: lock ? "FOR UPDATE" : "")"
        case .recent(let since):
            "SELECT \(unescaped: Self.columns) FROM incidents WHERE created_at >= \(since) OR status NOT IN ('resolved', 'completed') ORDER BY created_at DESC LIMIT 200"
        }
        let rows = try await connection.query(query, logger: database.logger)
        var incidents: [Incident] = []
        for try await (id, kind, name, status, impact, security, components, scheduledFor, scheduledUntil, createdAt, updatedAt, monitoringAt, resolvedAt, revision, origin)
            in rows.decode((UUID, String, String, String, String, Bool, [String], Date?, Date?, Date, Date, Date?, Date?, Int, String).self) {
            guard let kind = Incident.Kind(rawValue: kind), let status = Incident.Status(rawValue: status), let impact = Incident.Impact(rawValue: impact) else { continue }
            incidents.append(Incident(
                id: id, kind: kind, name: name, status: status, impact: impact, security: security, componentIDs: components,
                scheduledFor: scheduledFor, scheduledUntil: scheduledUntil, createdAt: createdAt, updatedAt: updatedAt,
                monitoringAt: monitoringAt, resolvedAt: resolvedAt, revision: revision, originRegion: origin, updates: []
            ))
        }
        guard !incidents.isEmpty else { return [] }
        let updateRows = try await connection.query("""
            SELECT id, incident_id, status, body, component_ids, author, created_at FROM incident_updates
            WHERE incident_id = ANY(\(incidents.map(\.id))) ORDER BY created_at DESC, id DESC
            """, logger: database.logger)
        var updates: [UUID: [Incident.Update]] = [:]
        for try await (id, incident, status, body, components, author, createdAt) in updateRows.decode((UUID, UUID, String, String, [String], String, Date).self) {
            guard let status = Incident.Status(rawValue: status) else { continue }
            updates[incident, default: []].append(Incident.Update(id: id, status: status, body: body, componentIDs: components, author: author, createdAt: createdAt))
        }
        return incidents.map { incident in
            var incident = incident
            incident.updates = updates[incident.id] ?? []
            return incident
        }
    }
}
