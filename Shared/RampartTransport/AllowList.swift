import Foundation
import RampartCore
import RampartSecurity
import Yams

/// The one allow-list of internal calls (`Deploy/policy/allowlist.yaml`): which caller may call
/// which route prefixes of which service. Every service enforces it; `rampartctl policy render`
/// turns it into network policies. Anything not listed is denied.
public struct AllowList: Sendable, Equatable {
    /// One permission: `from` may call `routes` of `to`.
    public struct Rule: Codable, Sendable, Equatable {
        /// A service name, or `operator` for any operator identity.
        public var from: String
        /// A service name, or `*` for every service.
        public var to: String
        /// Path prefixes, matched on whole segments: `/api/v1/tickets` allows `/api/v1/tickets/42`
        /// but not `/api/v1/ticketsx`.
        public var routes: [String]
        /// HTTP methods allowed; all methods when absent.
        public var methods: [String]?
        /// Whether a caller from another region is allowed (only status probes need this).
        public var crossRegion: Bool?

        public init(from: String, to: String, routes: [String], methods: [String]? = nil, crossRegion: Bool? = nil) {
            self.from = from
            self.to = to
            self.routes = routes
            self.methods = methods
            self.crossRegion = crossRegion
        }

        enum CodingKeys: String, CodingKey {
            case from, to, routes, methods
            case crossRegion = "cross_region"
        }
    }

    private struct Document: Codable {
        var version: Int
        var rules: [Rule]
    }

    public let rules: [Rule]

    public init(rules: [Rule]) throws {
        for rule in rules {
            guard rule.from == "operator" || ServiceName(rawValue: rule.from) != nil else {
                throw AllowListError.unknownCaller(rule.from)
            }
            guard rule.to == "*" || ServiceName(rawValue: rule.to) != nil else {
                throw AllowListError.unknownService(rule.to)
            }
            guard !rule.routes.isEmpty, rule.routes.allSatisfy({ $0.hasPrefix("/") }) else {
                throw AllowListError.badRoute
            }
        }
        self.rules = rules
    }

    /// Parses the YAML document.
    public init(yaml: String) throws {
        let document: Document
        do {
            document = try YAMLDecoder().decode(Document.self, from: yaml)
        } catch {
            throw AllowListError.malformed
        }
        guard document.version == 1 else { throw AllowListError.unsupportedVersion }
        try self.init(rules: document.rules)
    }

    /// Reads the YAML file at `path`.
    public init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(key: "RAMPART_ALLOWLIST", reason: "cannot read \(path)")
        }
        do {
            try self.init(yaml: text)
        } catch let error as AllowListError {
            throw ConfigError(key: "RAMPART_ALLOWLIST", reason: "\(error)")
        }
    }

    /// Whether `caller` may call `method path` on `service` in `region`.
    public func allows(_ caller: CallerIdentity, method: String, path: String, service: ServiceName, region: Region) -> Bool {
        rules.contains { rule in
            guard rule.to == "*" || rule.to == service.rawValue else { return false }
            switch caller {
            case .operator:
                guard rule.from == "operator" else { return false }
            case .service(let callerService, let callerRegion):
                guard rule.from == callerService.rawValue else { return false }
                guard callerRegion == region || rule.crossRegion == true else { return false }
            }
            if let methods = rule.methods, !methods.contains(method.uppercased()) { return false }
            return rule.routes.contains { Self.matches(prefix: $0, path: path) }
        }
    }

    /// Segment-wise prefix match; a prefix ending in `/` covers everything beneath it.
    static func matches(prefix: String, path: String) -> Bool {
        if prefix.hasSuffix("/") { return path.hasPrefix(prefix) || path == String(prefix.dropLast()) }
        return path == prefix || path.hasPrefix(prefix + "/")
    }
}

/// Why an allow-list file was refused.
public enum AllowListError: Error, Equatable, Sendable, CustomStringConvertible {
    case malformed
    case unsupportedVersion
    case unknownCaller(String)
    case unknownService(String)
    case badRoute

    public var description: String {
        switch self {
        case .malformed: "is not a valid allow-list document"
        case .unsupportedVersion: "has an unsupported version (expected 1)"
        case .unknownCaller(let name): "names an unknown caller '\(name)'"
        case .unknownService(let name): "names an unknown service '\(name)'"
        case .badRoute: "has a rule without routes or with a route not starting with /"
        }
    }
}
