import Foundation
import PostgresNIO
import RampartCore
import RampartSecurity
import RampartStorage

/// Agent activity per agent and day: replies, notes, status changes, sign-ins and sign-outs,
/// and online time as intervals built from sessions and activity.
///
/// Online time: every action of an agent marks them present; actions less than 15 minutes apart
/// join one interval, which ends 5 minutes after its last action, or at a sign-out. Intervals are
/// split at midnight in the tenant's time zone.
public struct ActivityReport: Sendable {
    public let store: EventStore
    static let joinGap: TimeInterval = 15 * 60
    static let tail: TimeInterval = 5 * 60
    /// The longest range one request may cover.
    public static let maximumRange: TimeInterval = 31 * 86400

    public init(store: EventStore) {
        self.store = store
    }

    /// One agent's day.
    public struct Day: Codable, Sendable, Equatable {
        public var agentID: String
        public var day: String
        public var replies = 0
        public var notes = 0
        public var statusChanges = 0
        public var signIns = 0
        public var signOuts = 0
        public var otherActions = 0
        public var onlineSeconds = 0
        public var intervals: [Interval] = []

        enum CodingKeys: String, CodingKey {
            case day, replies, notes, intervals
            case agentID = "agent_id"
            case statusChanges = "status_changes"
            case signIns = "sign_ins"
            case signOuts = "sign_outs"
            case otherActions = "other_actions"
            case onlineSeconds = "online_seconds"
        }
    }

    public struct Interval: Codable, Sendable, Equatable {
        public var start: Date
        public var end: Date
    }

    /// What kind of activity an action is.
    enum Kind { case reply, note, statusChange, signIn, signOut, other }

    /// `ownResource`: the event's resource is the acting user (identity records a sign-out as
    /// `session.revoked` of the user's own session).
    static func kind(of action: String, ownResource: Bool = false) -> Kind {
        if action == "auth.signed_in" { return .signIn }
        if action == "auth.signed_out" || (action == "session.revoked" && ownResource) { return .signOut }
        if action.hasSuffix(".replied") || action == "message.created" || action.hasSuffix(".reply_added") { return .reply }
        if action.contains("note") { return .note }
        if action.hasSuffix("status_changed") { return .statusChange }
        return .other
    }

    /// Staff (agents and admins) activity of `tenant` in `[from, to)`, optionally one agent.
    public func days(tenant: TenantID, from: Date, to: Date, agent: String?) async throws -> [Day] {
        let logger = store.database.logger
        let (events, settings) = try await store.database.withTenant(tenant) { connection in
            var events: [Action] = []
            // One agent per user, whichever form of the user's id an event was recorded under
            // (`user:{id}` or the bare id): both become `user:{id}`. An action on the agent's own
            // user (their session revoked) matches either form of the resource's id.
            let rows = try await connection.query("""
                SELECT agent, action, occurred_at, COALESCE(resource_id = agent OR 'user:' || resource_id = agent, false)
                FROM (
                    SELECT CASE WHEN actor_id ~ \(Self.bareUserID) THEN 'user:' || actor_id ELSE actor_id END AS agent,
                           action, occurred_at, resource_id, seq
                    FROM events
                    WHERE tenant_id = \(tenant.rawValue) AND actor_type IN ('agent', 'admin') AND occurred_at >= \(from) AND occurred_at < \(to)
                ) staff
                WHERE \(agent.map(Self.agentID))::text IS NULL OR agent = \(agent.map(Self.agentID))
                ORDER BY agent, occurred_at, seq
                """, logger: logger)
            for try await (agent, action, at, own) in rows.decode((String, String, Date, Bool).self) {
                events.append(Action(agent: agent, kind: Self.kind(of: action, ownResource: own), at: at))
            }
            return (events, try await SettingsRepository.settings(tenant: tenant, on: connection, logger: logger))
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: settings.timeZone) ?? .gmt
        return Self.summarise(events, calendar: calendar, until: to)
    }

    /// A user id as the services write it bare (lower-case UUID).
    static let bareUserID = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"

    /// The report's id of the agent `id` names: `user:{id}` for a user in either form, else `id`.
    static func agentID(_ id: String) -> String {
        EventFilter.user(ofActor: id).map { Principal.subject(ofUser: $0) } ?? id
    }

    /// One action of an agent.
    struct Action {
        var agent: String
        var kind: Kind
        var at: Date
    }

    /// Turns actions, sorted by agent then time, into days.
    static func summarise(_ events: [Action], calendar: Calendar, until: Date) -> [Day] {
        var days: [String: Day] = [:]
        func key(_ agent: String, _ date: Date) -> String {
            let parts = calendar.dateComponents([.year, .month, .day], from: date)
            return "\(agent)\u{0}" + String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
        }
        func day(_ agent: String, _ date: Date) -> Day {
            let name = key(agent, date)
            return days[name] ?? Day(agentID: agent, day: String(name.split(separator: "\u{0}").last ?? ""))
        }
        func addInterval(_ agent: String, _ start: Date, _ end: Date) {
            var cursor = start
            while cursor < end {
                let midnight = calendar.nextDate(after: cursor, matching: DateComponents(hour: 0, minute: 0, second: 0), matchingPolicy: .nextTime) ?? end
                let pieceEnd = min(midnight, end)
                var entry = day(agent, cursor)
                entry.intervals.append(Interval(start: cursor, end: pieceEnd))
                entry.onlineSeconds += Int(pieceEnd.timeIntervalSince(cursor))
                days[key(agent, cursor)] = entry
                cursor = pieceEnd
            }
        }
        var open: (agent: String, start: Date, last: Date)?
        func close(at end: Date) {
            if let current = open { addInterval(current.agent, current.start, min(end, until)) }
            open = nil
        }
        for event in events {
            var entry = day(event.agent, event.at)
            switch event.kind {
            case .reply: entry.replies += 1
            case .note: entry.notes += 1
            case .statusChange: entry.statusChanges += 1
            case .signIn: entry.signIns += 1
            case .signOut: entry.signOuts += 1
            case .other: entry.otherActions += 1
            }
            days[key(event.agent, event.at)] = entry
            if let current = open, current.agent != event.agent || event.at.timeIntervalSince(current.last) > joinGap {
                close(at: current.last.addingTimeInterval(tail))
            }
            if event.kind == .signOut {
                if open != nil { close(at: event.at) }
                continue
            }
            if let current = open {
                open = (current.agent, current.start, event.at)
            } else {
                open = (event.agent, event.at, event.at)
            }
        }
        if let current = open { close(at: current.last.addingTimeInterval(tail)) }
        return days.values.sorted { ($0.day, $0.agentID) < ($1.day, $1.agentID) }
    }
}
