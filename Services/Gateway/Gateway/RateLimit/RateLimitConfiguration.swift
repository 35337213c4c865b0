import Foundation
import Yams

/// The gateway's rate limits (`Deploy/gateway/rate-limits.yaml`): named limits keyed by request
/// dimensions, optionally restricted to route classes, with per-tenant overrides and the number of
/// gateway replicas sharing them.
public struct RateLimitConfiguration: Sendable {
    /// One configured limit.
    public struct Rule: Sendable {
        /// A unique name, used in keys, logs and tenant overrides.
        public let name: String
        /// The dimensions the key is built from; a request lacking one of them is not counted.
        public let dimensions: [RateLimitDimension]
        /// Route classes this limit applies to; every route class when nil.
        public let routeClasses: Set<String>?
        /// The limit for every tenant without an override, already divided among replicas.
        public let limit: RateLimit
        /// Overrides by tenant slug, already divided among replicas.
        public let tenantLimits: [String: RateLimit]

        /// When the limit counts a request (``RateLimiter/Stage``): once authenticated when it is
        /// keyed by tenant or principal, else on arrival.
        public var stage: RateLimiter.Stage {
            dimensions.contains(.tenant) || dimensions.contains(.principal) ? .authenticated : .arrival
        }

        /// The limit for `tenant`.
        func limit(for tenant: String?) -> RateLimit {
            tenant.flatMap { tenantLimits[$0] } ?? limit
        }
    }

    /// The rules, in file order.
    public let rules: [Rule]
    /// How many gateway replicas share the configured limits.
    public let replicas: Int

    /// Parses and validates the YAML document; errors name the offending limit.
    public init(yaml: String) throws {
        let document: Document
        do {
            document = try YAMLDecoder().decode(Document.self, from: yaml)
        } catch {
            throw RateLimitConfigurationError.malformed(String(describing: error))
        }
        guard document.version == 1 else { throw RateLimitConfigurationError.unsupportedVersion(document.version) }
        let replicas = document.replicas ?? 1
        guard replicas >= 1 else { throw RateLimitConfigurationError.invalid(limit: "replicas", reason: "must be at least 1") }
        var names = Set<String>()
        var rules: [Rule] = []
        for entry in document.limits {
            guard names.insert(entry.name).inserted else {
                throw RateLimitConfigurationError.invalid(limit: entry.name, reason: "duplicate name")
            }
            guard !entry.key.isEmpty else { throw RateLimitConfigurationError.invalid(limit: entry.name, reason: "empty key") }
            let limit = try Self.limit(entry.requests, entry.period, entry.burst, name: entry.name)
            var tenantLimits: [String: RateLimit] = [:]
            for (tenant, overrides) in document.tenants ?? [:] {
                guard let override = overrides[entry.name] else { continue }
                tenantLimits[tenant] = try Self.limit(
                    override.requests, override.period ?? entry.period, override.burst, name: "\(entry.name) for \(tenant)"
                ).share(ofReplicas: replicas)
            }
            rules.append(Rule(
                name: entry.name, dimensions: entry.key, routeClasses: entry.routeClasses.map(Set.init),
                limit: limit.share(ofReplicas: replicas), tenantLimits: tenantLimits))
        }
        for (tenant, overrides) in document.tenants ?? [:] {
            for name in overrides.keys where !names.contains(name) {
                throw RateLimitConfigurationError.invalid(limit: name, reason: "tenant \(tenant) overrides an unknown limit")
            }
        }
        self.rules = rules
        self.replicas = replicas
    }

    /// Reads the YAML file at `path`.
    public init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RateLimitConfigurationError.unreadable(path)
        }
        try self.init(yaml: String(decoding: data, as: UTF8.self))
    }

    private static func limit(_ requests: Int, _ period: String, _ burst: Int?, name: String) throws -> RateLimit {
        guard let seconds = parsePeriod(period) else {
            throw RateLimitConfigurationError.invalid(limit: name, reason: "period \"\(period)\" is not like 30s, 1m or 1h")
        }
        guard let limit = RateLimit(requests: requests, period: .seconds(seconds), burst: burst) else {
            throw RateLimitConfigurationError.invalid(limit: name, reason: "requests and burst must be positive")
        }
        return limit
    }

    /// `30s`, `5m`, `1h` or a bare number of seconds.
    static func parsePeriod(_ text: String) -> Int? {
        let multipliers: [Character: Int] = ["s": 1, "m": 60, "h": 3600]
        var digits = Substring(text)
        var multiplier = 1
        if let last = text.last, let factor = multipliers[last] {
            digits = digits.dropLast()
            multiplier = factor
        }
        guard let value = Int(digits), value > 0 else { return nil }
        return value * multiplier
    }

    private struct Document: Decodable {
        var version: Int
        var replicas: Int?
        var limits: [Entry]
        var tenants: [String: [String: Override]]?
    }

    private struct Entry: Decodable {
        var name: String
        var key: [RateLimitDimension]
        var routeClasses: [String]?
        var requests: Int
        var period: String
        var burst: Int?

        enum CodingKeys: String, CodingKey {
            case name, key, requests, period, burst
            case routeClasses = "route_classes"
        }
    }

    private struct Override: Decodable {
        var requests: Int
        var period: String?
        var burst: Int?
    }
}

/// Why a rate-limit file was refused.
public enum RateLimitConfigurationError: Error, Equatable, CustomStringConvertible {
    /// The file could not be read.
    case unreadable(String)
    /// The file is not a valid document.
    case malformed(String)
    /// The document's version is not 1.
    case unsupportedVersion(Int)
    /// A limit (or `replicas`) is invalid.
    case invalid(limit: String, reason: String)

    /// A message naming what is wrong, for the start-up error.
    public var description: String {
        switch self {
        case .unreadable(let path): "cannot read rate-limit file \(path)"
        case .malformed(let detail): "rate-limit file is not valid: \(detail)"
        case .unsupportedVersion(let version): "rate-limit file version \(version) is not supported (expected 1)"
        case .invalid(let limit, let reason): "rate limit \"\(limit)\": \(reason)"
        }
    }
}
