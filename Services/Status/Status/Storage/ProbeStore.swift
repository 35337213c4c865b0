import Foundation
import PostgresNIO
import RampartCore
import RampartStorage

/// Probe rounds in the `status` schema: the raw samples of the last days and the daily roll-up
/// that uptime is computed from.
public struct ProbeStore: Sendable {
    let database: Database
    /// Raw samples older than this are removed; the roll-up keeps the days.
    static let sampleRetention: TimeInterval = 2 * 86400

    public init(database: Database) {
        self.database = database
    }

    /// One component's result in one round.
    public struct Sample: Sendable {
        public var component: Component
        public var observed: ComponentStatus
        /// What the page showed (after hysteresis and maintenance): what uptime counts.
        public var published: ComponentStatus
        /// `nil` when nothing answered.
        public var latency: Duration?

        public init(component: Component, observed: ComponentStatus, published: ComponentStatus, latency: Duration?) {
            self.component = component
            self.observed = observed
            self.published = published
            self.latency = latency
        }
    }

    /// Stores a round taken at `time`: samples, the day's counts, and the pruning of old samples.
    public func record(_ samples: [Sample], at time: Date) async throws {
        let day = DayStamp(time).description
        let cutoff = time.addingTimeInterval(-Self.sampleRetention)
        try await database.withTransaction { connection in
            for sample in samples {
                let latency = sample.latency.map { Int($0.components.seconds * 1000 + $0.components.attoseconds / 1_000_000_000_000_000) }
                let counts = SampleCounts(sample.published)
                try await connection.query("""
                    INSERT INTO probe_samples (component_id, observed_at, observed, published, latency_ms)
                    VALUES (\(sample.component.id), \(time), \(sample.observed.rawValue), \(sample.published.rawValue), \(latency))
                    ON CONFLICT (component_id, observed_at) DO NOTHING
                    """, logger: database.logger)
                try await connection.query("""
                    INSERT INTO component_days (component_id, day, samples, major_outage, partial_outage, maintenance)
                    VALUES (\(sample.component.id), \(day)::date, 1, \(counts.majorOutage), \(counts.partialOutage), \(counts.maintenance))
                    ON CONFLICT (component_id, day) DO UPDATE SET
                        samples = component_days.samples + 1,
                        major_outage = component_days.major_outage + EXCLUDED.major_outage,
                        partial_outage = component_days.partial_outage + EXCLUDED.partial_outage,
                        maintenance = component_days.maintenance + EXCLUDED.maintenance
                    """, logger: database.logger)
            }
            try await connection.query("DELETE FROM probe_samples WHERE observed_at < \(cutoff)", logger: database.logger)
        }
    }

    /// Counts per component id and day, from `first` on.
    public func dailyCounts(from first: DayStamp) async throws -> [String: [DayStamp: SampleCounts]] {
        let rows = try await database.client.query("""
            SELECT component_id, day::text, samples, major_outage, partial_outage, maintenance
            FROM component_days WHERE day >= \(first.description)::date
            """, logger: database.logger)
        var result: [String: [DayStamp: SampleCounts]] = [:]
        for try await (component, dayText, samples, major, partial, maintenance) in rows.decode((String, String, Int, Int, Int, Int).self) {
            let parts = dayText.split(separator: "-").compactMap { Int($0) }
            guard parts.count == 3 else { continue }
            result[component, default: [:]][DayStamp(year: parts[0], month: parts[1], day: parts[2])] =
                SampleCounts(samples: samples, majorOutage: major, partialOutage: partial, maintenance: maintenance)
        }
        return result
    }
}
