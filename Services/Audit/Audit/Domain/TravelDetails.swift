import Foundation
import RampartSecurity

/// What an impossible-travel alert found: where and when the two sign-ins were, how far apart,
/// and the speed that implies. Places are personal data, so the alert stores this sealed with
/// the tenant's data key; coordinates are rounded to a tenth of a degree (about 10 km).
public struct TravelDetails: Codable, Sendable, Equatable {
    /// One sign-in's place.
    public struct Place: Codable, Sendable, Equatable {
        public var city: String?
        public var country: String?
        public var latitude: Double
        public var longitude: Double
        /// ISO 8601, whole seconds.
        public var signedInAt: String

        init(_ location: GeoLocation, at date: Date) {
            city = location.city
            country = location.country
            latitude = (location.latitude * 10).rounded() / 10
            longitude = (location.longitude * 10).rounded() / 10
            signedInAt = AuditRecord.timestamp(date)
        }

        /// "Berlin, DE", or the coordinates when the database names no place.
        var label: String {
            let named = [city, country].compactMap { $0 }
            return named.isEmpty ? "\(latitude), \(longitude)" : named.joined(separator: ", ")
        }

        enum CodingKeys: String, CodingKey {
            case city, country, latitude, longitude
            case signedInAt = "signed_in_at"
        }
    }

    public var from: Place
    public var to: Place
    public var distanceKm: Int
    public var elapsedSeconds: Int
    public var speedKmh: Int

    enum CodingKeys: String, CodingKey {
        case from, to
        case distanceKm = "distance_km"
        case elapsedSeconds = "elapsed_seconds"
        case speedKmh = "speed_kmh"
    }
}
