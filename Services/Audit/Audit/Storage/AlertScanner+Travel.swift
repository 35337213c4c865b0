import Foundation
import PostgresNIO
import RampartCore
import RampartSecurity

/// The impossible-travel rule: two successful sign-ins of one user, adjacent in time, whose
/// places are further apart than `travel_min_distance_km` and further than a traveller at
/// `travel_speed_kmh` could cover in the time between them. Only with a GeoIP database.
///
/// A sign-in is judged against the user's located sign-ins just before and just after it in
/// time among those stored before it, so each adjacent pair is judged when its later-arriving
/// sign-in is, and a late-delivered sign-in is still compared with both neighbours. An alert's
/// subject is the user and the two event ids, so a pair raises at most one alert.
extension AlertScanner {
    /// A sign-in with the place its IP maps to.
    struct LocatedSignIn {
        var seq: Int64
        var id: UUID
        var occurredAt: Date
        var location: GeoLocation
    }

    /// Sign-ins looked at on each side of a new one for a located neighbour.
    static let travelLookaround = 20

    func travelFindings(for event: Judged, tenant: TenantID, settings: TenantAuditSettings, on connection: PostgresConnection) async throws -> [Finding] {
        guard geoIP != nil, event.action == AlertRule.signIn, event.outcome == "success", event.ipIndex != nil,
              let here = try await locate(event.record, tenant: tenant)
        else { return [] }
        var found: [Finding] = []
        for earlier in [true, false] {
            guard let other = try await neighbour(of: event, earlier: earlier, tenant: tenant, on: connection) else { continue }
            let (from, to) = earlier ? (other, here) : (here, other)
            if let finding = Self.travel(from: from, to: to, user: event.actorID, settings: settings) { found.append(finding) }
        }
        return found
    }

    /// The user's nearest located successful sign-in before (or after) `event` in time, among
    /// those stored before it.
    private func neighbour(of event: Judged, earlier: Bool, tenant: TenantID, on connection: PostgresConnection) async throws -> LocatedSignIn? {
        let logger = store.database.logger
        let rows = if earlier {
            try await connection.query("""
                SELECT record FROM events
                WHERE tenant_id = \(tenant.rawValue) AND actor_id = \(event.actorID) AND action = \(AlertRule.signIn) AND outcome = 'success'
                  AND ip_index IS NOT NULL AND seq < \(event.seq) AND (occurred_at, seq) < (\(event.occurredAt), \(event.seq))
                ORDER BY occurred_at DESC, seq DESC LIMIT \(Self.travelLookaround)
                """, logger: logger).collectValues(String.self)
        } else {
            try await connection.query("""
                SELECT record FROM events
                WHERE tenant_id = \(tenant.rawValue) AND actor_id = \(event.actorID) AND action = \(AlertRule.signIn) AND outcome = 'success'
                  AND ip_index IS NOT NULL AND seq < \(event.seq) AND occurred_at > \(event.occurredAt)
                ORDER BY occurred_at, seq LIMIT \(Self.travelLookaround)
                """, logger: logger).collectValues(String.self)
        }
        for record in rows {
            if let located = try await locate(record, tenant: tenant) { return located }
        }
        return nil
    }

    /// The sign-in of a stored record with its place, or `nil` when its IP is unknown, private,
    /// erased or not in the database. A record the database cannot decode is logged and skipped,
    /// so one bad entry cannot stop the tenant's other rules.
    private func locate(_ text: String, tenant: TenantID) async throws -> LocatedSignIn? {
        guard let geoIP else { return nil }
        let record = try AuditRecord(canonicalJSON: text)
        guard let ip = try await store.view(record, tenant: tenant).actor.ip, let occurredAt = try? Date(record.occurredAt, strategy: .iso8601) else { return nil }
        do {
            guard let location = try geoIP.locate(ip) else { return nil }
            return LocatedSignIn(seq: record.seq, id: record.id, occurredAt: occurredAt, location: location)
        } catch {
            store.database.logger.error("audit.geoip.lookup_failed", metadata: ["tenant.id": "\(tenant)", "event.seq": "\(record.seq)", "error": "\(error)"])
            return nil
        }
    }

    /// The alert two located sign-ins raise, if they are too far apart for the time between.
    static func travel(from: LocatedSignIn, to: LocatedSignIn, user: String, settings: TenantAuditSettings) -> Finding? {
        let distance = from.location.distance(to: to.location)
        // Times are whole seconds: a pair within the same second counts as one second apart.
        let seconds = max(1, to.occurredAt.timeIntervalSince(from.occurredAt))
        let speed = distance / (seconds / 3600)
        guard distance >= Double(settings.travelMinDistanceKm), speed > Double(settings.travelSpeedKmh) else { return nil }
        let details = TravelDetails(from: .init(from.location, at: from.occurredAt), to: .init(to.location, at: to.occurredAt),
                                    distanceKm: Int(distance.rounded()), elapsedSeconds: Int(seconds), speedKmh: Int(speed.rounded()))
        return Finding(
            rule: .impossibleTravel, subject: subject(user, from.id.uuidString.lowercased(), to.id.uuidString.lowercased()),
            windowStart: from.occurredAt,
            summary: "two sign-ins of one user \(details.distanceKm) km apart within \(duration(seconds)) (\(details.speedKmh) km/h)",
            evidence: [from.seq, to.seq].sorted(), travel: details
        )
    }

    /// "45 min", "3.5 h".
    static func duration(_ seconds: TimeInterval) -> String {
        seconds < 3600 ? "\(Int((seconds / 60).rounded(.up))) min" : "\((seconds / 360).rounded() / 10) h"
    }
}
