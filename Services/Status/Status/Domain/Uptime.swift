import Foundation

/// Probe samples of one day (or any span) by the status the page published at each: the input
/// of every uptime figure.
public struct SampleCounts: Sendable, Equatable {
    public var samples: Int
    public var majorOutage: Int
    public var partialOutage: Int
    public var maintenance: Int

    public init(samples: Int = 0, majorOutage: Int = 0, partialOutage: Int = 0, maintenance: Int = 0) {
        self.samples = samples
        self.majorOutage = majorOutage
        self.partialOutage = partialOutage
        self.maintenance = maintenance
    }

    /// The counts of one published status.
    public init(_ status: ComponentStatus) {
        self.init(
            samples: 1,
            majorOutage: status == .majorOutage ? 1 : 0,
            partialOutage: status == .partialOutage ? 1 : 0,
            maintenance: status == .underMaintenance ? 1 : 0
        )
    }

    public static func + (lhs: SampleCounts, rhs: SampleCounts) -> SampleCounts {
        SampleCounts(samples: lhs.samples + rhs.samples, majorOutage: lhs.majorOutage + rhs.majorOutage,
                     partialOutage: lhs.partialOutage + rhs.partialOutage, maintenance: lhs.maintenance + rhs.maintenance)
    }

    /// Statuspage's arithmetic: major outage counts fully, partial outage at 30 %, degraded
    /// performance not at all, and maintenance is taken out of the measured time. `nil` when no
    /// measured time is left (no samples, or maintenance all along).
    public var uptime: Double? {
        let measured = samples - maintenance
        guard measured > 0 else { return nil }
        let down = Double(majorOutage) + Uptime.partialOutageWeight * Double(partialOutage)
        return max(0, 1 - down / Double(measured))
    }
}

/// Uptime over days: the 90-day bars and the calendar month against the target.
public enum Uptime {
    public static let partialOutageWeight = 0.3
    /// The monthly target the page reports against (99.9 % allows 43.2 minutes in 30 days).
    public static let monthlyTarget = 0.999
    /// How many days the bars cover.
    public static let days = 90

    /// The UTC calendar used for every day boundary.
    public static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? TimeZone(secondsFromGMT: 0) ?? calendar.timeZone
        return calendar
    }()

    /// One bar: a day and its uptime (`nil`: nothing measured that day).
    public struct Day: Sendable, Equatable {
        public let day: DayStamp
        public let uptime: Double?
    }

    /// The `days` days ending with `today`, oldest first, each from `counts` (missing days have no data).
    public static func series(_ counts: [DayStamp: SampleCounts], endingOn today: DayStamp, days: Int = Uptime.days) -> [Day] {
        (0..<days).reversed().map { back in
            let day = today.adding(days: -back)
            return Day(day: day, uptime: counts[day]?.uptime)
        }
    }

    /// The uptime over the `days` days ending with `today`, all samples together.
    public static func span(_ counts: [DayStamp: SampleCounts], endingOn today: DayStamp, days: Int = Uptime.days) -> Double? {
        let first = today.adding(days: -(days - 1))
        return counts.filter { $0.key >= first && $0.key <= today }.values.reduce(SampleCounts(), +).uptime
    }

    /// The uptime of `today`'s calendar month so far.
    public static func month(_ counts: [DayStamp: SampleCounts], containing today: DayStamp) -> Double? {
        counts.filter { $0.key.year == today.year && $0.key.month == today.month && $0.key <= today }
            .values.reduce(SampleCounts(), +).uptime
    }

    /// The sum of every component's counts per day, for a region's figure.
    public static func combined(_ perComponent: [[DayStamp: SampleCounts]]) -> [DayStamp: SampleCounts] {
        perComponent.reduce(into: [:]) { total, counts in
            for (day, value) in counts { total[day, default: SampleCounts()] = total[day, default: SampleCounts()] + value }
        }
    }
}

/// A UTC calendar day, as stored in the `date` column of the daily roll-up.
public struct DayStamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    public init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// The UTC day `date` falls on.
    public init(_ date: Date) {
        let parts = Uptime.calendar.dateComponents([.year, .month, .day], from: date)
        self.init(year: parts.year ?? 1970, month: parts.month ?? 1, day: parts.day ?? 1)
    }

    /// Midnight UTC at the start of the day.
    public var start: Date {
        Uptime.calendar.date(from: DateComponents(year: year, month: month, day: day)) ?? Date(timeIntervalSince1970: 0)
    }

    public func adding(days: Int) -> DayStamp {
        DayStamp(Uptime.calendar.date(byAdding: .day, value: days, to: start) ?? start)
    }

    public static func < (lhs: DayStamp, rhs: DayStamp) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }

    /// `2026-11-29`.
    public var description: String {
        String(format: "%04d-%02d-%02d", year, month, day)
    }
}
