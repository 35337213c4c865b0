import Foundation
import RampartCore
@testable import Status
import Testing

@Suite("Status: uptime arithmetic")
struct StatusUptimeTests {
    /// A day of 30-second probes.
    let perDay = 2880

    @Test func majorOutageCountsFullyPartialAtThirtyPercentDegradedNotAtAll() throws {
        #expect(SampleCounts(samples: perDay).uptime == 1)
        #expect(SampleCounts(samples: perDay, majorOutage: 288).uptime == 0.9)
        #expect(try #require(SampleCounts(samples: perDay, partialOutage: 960).uptime).isApproximately(0.9))
        let degradedDay = (0..<perDay).map { _ in SampleCounts(.degradedPerformance) }.reduce(SampleCounts(), +)
        #expect(degradedDay.uptime == 1)
        #expect(SampleCounts(.majorOutage) == SampleCounts(samples: 1, majorOutage: 1))
        #expect(SampleCounts(.underMaintenance) == SampleCounts(samples: 1, maintenance: 1))
    }

    @Test func maintenanceIsTakenOutOfTheMeasuredTime() {
        // Half the day in maintenance; 10 % of the rest down.
        #expect(SampleCounts(samples: 100, majorOutage: 5, maintenance: 50).uptime == 0.9)
        #expect(SampleCounts(samples: 40, maintenance: 40).uptime == nil)
        #expect(SampleCounts().uptime == nil)
    }

    @Test func ninetyDaysEndOnTodayOldestFirstWithGapsAsNoData() throws {
        let today = DayStamp(year: 2026, month: 3, day: 1)
        let counts: [DayStamp: SampleCounts] = [
            today: SampleCounts(samples: 10, majorOutage: 1),
            DayStamp(year: 2026, month: 2, day: 28): SampleCounts(samples: 10),
            DayStamp(year: 2025, month: 12, day: 1): SampleCounts(samples: 10, majorOutage: 10),
        ]
        let series = Uptime.series(counts, endingOn: today)
        #expect(series.count == 90)
        #expect(series.last?.day == today)
        #expect(series.first?.day == DayStamp(year: 2025, month: 12, day: 2))
        #expect(series.last?.uptime == 0.9)
        #expect(series[88].uptime == 1)
        #expect(series.dropLast(2).allSatisfy { $0.uptime == nil })
        // The 1 December day is 90 days back: outside the bars and their figure.
        #expect(try #require(Uptime.span(counts, endingOn: today)).isApproximately(0.95))
    }

    @Test func theMonthAgainstTheTargetAllowsFortyThreeMinutes() throws {
        let today = DayStamp(year: 2026, month: 11, day: 30)
        var counts: [DayStamp: SampleCounts] = [:]
        for day in 1...30 { counts[DayStamp(year: 2026, month: 11, day: day)] = SampleCounts(samples: perDay) }
        // The previous month does not count.
        counts[DayStamp(year: 2026, month: 10, day: 31)] = SampleCounts(samples: perDay, majorOutage: perDay)
        // 86 samples of 30 s = 43 minutes down in a 30-day month: within 99.9 %.
        counts[DayStamp(year: 2026, month: 11, day: 12)] = SampleCounts(samples: perDay, majorOutage: 86)
        #expect(try #require(Uptime.month(counts, containing: today)) >= Uptime.monthlyTarget)
        // 87 samples = 43.5 minutes: below it.
        counts[DayStamp(year: 2026, month: 11, day: 12)] = SampleCounts(samples: perDay, majorOutage: 87)
        #expect(try #require(Uptime.month(counts, containing: today)) < Uptime.monthlyTarget)
        // Days after today (a clock set back) are not part of the month so far.
        #expect(Uptime.month(counts, containing: DayStamp(year: 2026, month: 11, day: 11)) == 1)
    }

    @Test func aRegionCombinesItsComponentsSamples() throws {
        let day = DayStamp(year: 2026, month: 11, day: 29)
        let combined = Uptime.combined([
            [day: SampleCounts(samples: 100, majorOutage: 10)],
            [day: SampleCounts(samples: 100)],
            [day: SampleCounts(samples: 100, partialOutage: 100, maintenance: 0)],
        ])
        #expect(combined[day] == SampleCounts(samples: 300, majorOutage: 10, partialOutage: 100))
        #expect(try #require(combined[day]?.uptime).isApproximately(1 - 40.0 / 300))
    }

    @Test func daysAreUTCCalendarDays() {
        let lateEvening = Date(timeIntervalSince1970: 1_764_460_799) // 2025-11-29T23:59:59Z
        #expect(DayStamp(lateEvening) == DayStamp(year: 2025, month: 11, day: 29))
        #expect(DayStamp(lateEvening.addingTimeInterval(1)) == DayStamp(year: 2025, month: 11, day: 30))
        #expect(DayStamp(year: 2024, month: 3, day: 1).adding(days: -1) == DayStamp(year: 2024, month: 2, day: 29))
        #expect(DayStamp(year: 2026, month: 1, day: 5).description == "2026-01-05")
    }
}

extension Double {
    func isApproximately(_ other: Double) -> Bool { abs(self - other) < 1e-9 }
}
