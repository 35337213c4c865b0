import Foundation
import RampartCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where an IP address is, as far as a GeoIP database knows: the city (English name), the
/// country's ISO code and the coordinates of the network.
public struct GeoLocation: Sendable, Equatable {
    public var city: String?
    public var country: String?
    public var latitude: Double
    public var longitude: Double

    /// Great-circle distance in kilometres (haversine, mean Earth radius).
    public func distance(to other: GeoLocation) -> Double {
        let radians = Double.pi / 180
        let dLat = (other.latitude - latitude) * radians
        let dLon = (other.longitude - longitude) * radians
        let a = sin(dLat / 2) * sin(dLat / 2) + cos(latitude * radians) * cos(other.latitude * radians) * sin(dLon / 2) * sin(dLon / 2)
        return 2 * 6371.0088 * atan2(a.squareRoot(), (1 - a).squareRoot())
    }
}

/// Locates IP addresses with the GeoIP database configured by `RAMPART_AUDIT_GEOIP_DB`.
/// Private, loopback, link-local, shared (CGNAT), documentation, multicast and unspecified
/// addresses are never located: they say nothing about where someone is.
public struct GeoIPLocator: Sendable {
    public static let configKey = "RAMPART_AUDIT_GEOIP_DB"
    public let database: MaxMindDatabase

    public init(database: MaxMindDatabase) {
        self.database = database
    }

    /// The configured database, or `nil` when none is (the impossible-travel rule is then off).
    /// A file that is missing, unreadable or not a valid MaxMind DB stops the start.
    public static func load(config: ServiceConfig) throws -> GeoIPLocator? {
        guard config.source.optional(configKey) != nil else { return nil }
        let path = try config.source.readableFile(configKey)
        do {
            let database = try MaxMindDatabase(contentsOf: path)
            // A Country or ASN database has no coordinates: refuse it now rather than never alert.
            guard ["City", "Enterprise"].contains(where: { database.databaseType.contains($0) }) else {
                throw MaxMindError.invalidMetadata("database_type \(database.databaseType) is not a City database")
            }
            return GeoIPLocator(database: database)
        } catch let error as MaxMindError {
            throw ConfigError(key: configKey, reason: "\(path): \(error)")
        } catch {
            throw ConfigError(key: configKey, reason: "\(path) cannot be read")
        }
    }

    /// The location of `ip` (text, IPv4 or IPv6), or `nil` when it is special-purpose, not in
    /// the database, or has no coordinates. A record the database cannot decode throws.
    public func locate(_ ip: String) throws -> GeoLocation? {
        guard let address = Self.publicAddress(ip), let record = try database.lookup(address),
              let latitude = record["location", "latitude"]?.number, let longitude = record["location", "longitude"]?.number,
              (-90...90).contains(latitude), (-180...180).contains(longitude)
        else { return nil }
        return GeoLocation(city: record["city", "names", "en"]?.text, country: record["country", "iso_code"]?.text,
                           latitude: latitude, longitude: longitude)
    }

    /// The address's bytes (IPv4-mapped IPv6 as IPv4), or `nil` for text that is no address and
    /// for special-purpose ranges.
    static func publicAddress(_ text: String) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: 16)
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.contains(":") {
            guard inet_pton(AF_INET6, trimmed, &bytes) == 1 else { return nil }
            if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xff && bytes[11] == 0xff {
                return isSpecial(ipv4: Array(bytes[12..<16])) ? nil : Array(bytes[12..<16])
            }
            return isSpecial(ipv6: bytes) ? nil : bytes
        }
        guard inet_pton(AF_INET, trimmed, &bytes) == 1 else { return nil }
        let address = Array(bytes[0..<4])
        return isSpecial(ipv4: address) ? nil : address
    }

    /// IPv4 ranges that are not someone's location (RFC 6890).
    static func isSpecial(ipv4 a: [UInt8]) -> Bool {
        switch (a[0], a[1], a[2]) {
        case (0, _, _), (10, _, _), (127, _, _), (224..., _, _): true
        case (100, 64...127, _), (169, 254, _), (172, 16...31, _), (192, 168, _): true
        case (192, 0, 0), (192, 0, 2), (198, 18...19, _), (198, 51, 100), (203, 0, 113): true
        default: false
        }
    }

    /// IPv6 ranges that are not someone's location: unspecified, loopback, IPv4-compatible,
    /// unique local, link-local, multicast, documentation.
    static func isSpecial(ipv6 a: [UInt8]) -> Bool {
        a[0..<12].allSatisfy { $0 == 0 } || a[0] & 0xfe == 0xfc || (a[0] == 0xfe && a[1] & 0xc0 == 0x80) || a[0] == 0xff
            || (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8)
    }
}
