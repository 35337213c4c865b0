import Foundation

/// A tenant's audit settings: retention, alert thresholds and business hours. A tenant without
/// a stored row has the defaults.
public struct TenantAuditSettings: Codable, Sendable, Equatable {
    /// Days events are kept (30-3650; one year by default).
    public var retentionDays: Int = 365
    /// Sign-in failures per user and IP in 10 minutes that raise a brute-force alert.
    public var bruteForceThreshold: Int = 10
    /// Distinct users failing from one IP in 30 minutes that raise a password-spraying alert.
    public var sprayingThreshold: Int = 10
    /// Exports per actor in 24 hours below which no mass-export alert is raised, whatever the baseline.
    public var exportThreshold: Int = 5
    /// Business hours, `[start, end)` in whole hours of `timeZone`; admin actions outside raise a low alert.
    public var businessHoursStart: Int = 7
    public var businessHoursEnd: Int = 19
    public var timeZone: String = "UTC"
    /// Sign-ins of one user further apart than this speed allows raise an impossible-travel alert.
    public var travelSpeedKmh: Int = 1000
    /// Sign-ins closer than this never do: GeoIP's own error is often hundreds of kilometres.
    public var travelMinDistanceKm: Int = 500

    public init() {}

    enum CodingKeys: String, CodingKey {
        case retentionDays = "retention_days"
        case bruteForceThreshold = "brute_force_threshold"
        case sprayingThreshold = "spraying_threshold"
        case exportThreshold = "export_threshold"
        case businessHoursStart = "business_hours_start"
        case businessHoursEnd = "business_hours_end"
        case timeZone = "time_zone"
        case travelSpeedKmh = "travel_speed_kmh"
        case travelMinDistanceKm = "travel_min_distance_km"
    }

    /// Every field is required except the impossible-travel ones, which came later: a client
    /// that does not send them gets their defaults.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        retentionDays = try container.decode(Int.self, forKey: .retentionDays)
        bruteForceThreshold = try container.decode(Int.self, forKey: .bruteForceThreshold)
        sprayingThreshold = try container.decode(Int.self, forKey: .sprayingThreshold)
        exportThreshold = try container.decode(Int.self, forKey: .exportThreshold)
        businessHoursStart = try container.decode(Int.self, forKey: .businessHoursStart)
        businessHoursEnd = try container.decode(Int.self, forKey: .businessHoursEnd)
        timeZone = try container.decode(String.self, forKey: .timeZone)
        travelSpeedKmh = try container.decodeIfPresent(Int.self, forKey: .travelSpeedKmh) ?? travelSpeedKmh
        travelMinDistanceKm = try container.decodeIfPresent(Int.self, forKey: .travelMinDistanceKm) ?? travelMinDistanceKm
    }

    /// The first invalid field, if any, with what is wrong.
    func invalidField() -> (String, String)? {
        invalidFields().first
    }

    /// Every invalid field, in the order of the settings, with what is wrong.
    func invalidFields() -> [(String, String)] {
        var invalid: [(String, String)] = []
        if !(30...3650).contains(retentionDays) { invalid.append(("retention_days", "must be 30 to 3650")) }
        if !(2...1000).contains(bruteForceThreshold) { invalid.append(("brute_force_threshold", "must be 2 to 1000")) }
        if !(2...1000).contains(sprayingThreshold) { invalid.append(("spraying_threshold", "must be 2 to 1000")) }
        if !(1...1000).contains(exportThreshold) { invalid.append(("export_threshold", "must be 1 to 1000")) }
        if !(0...23).contains(businessHoursStart) { invalid.append(("business_hours_start", "must be 0 to 23")) }
        if !(1...24).contains(businessHoursEnd) || businessHoursEnd <= businessHoursStart {
            invalid.append(("business_hours_end", "must be after business_hours_start, at most 24"))
        }
        if TimeZone(identifier: timeZone) == nil { invalid.append(("time_zone", "must be an IANA time zone such as Europe/Berlin")) }
        if !(100...20000).contains(travelSpeedKmh) { invalid.append(("travel_speed_kmh", "must be 100 to 20000")) }
        if !(0...20000).contains(travelMinDistanceKm) { invalid.append(("travel_min_distance_km", "must be 0 to 20000")) }
        return invalid
    }

    /// Whether `date` falls inside business hours on a weekday, in the tenant's time zone.
    func isBusinessTime(_ date: Date) -> Bool {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: timeZone) ?? .gmt
        let weekday = calendar.component(.weekday, from: date)
        let hour = calendar.component(.hour, from: date)
        return (2...6).contains(weekday) && hour >= businessHoursStart && hour < businessHoursEnd
    }
}
