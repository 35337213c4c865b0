import Foundation
import RampartCore
import Yams

/// The public edge's policy file (`Deploy/gateway/edge.yaml`): which path prefixes go to which
/// service and whether they need a credential, size and time limits, the principal cache and
/// `security.txt`. Data, not code: operators change routes without a build.
public struct EdgePolicy: Sendable, Equatable {
    /// One path prefix on tenant hosts (or the status host) and where it goes.
    public struct Route: Codable, Sendable, Equatable {
        /// Matched on whole segments: `/api/v1/tickets` covers `/api/v1/tickets/42`, not
        /// `/api/v1/ticketsx`; a trailing `/` covers everything beneath. The longest match wins.
        public var prefix: String
        /// The service that answers it, in the host's region.
        public var service: ServiceName
        /// Whether a credential is needed, used if present, or never looked at.
        public var auth: AuthRequirement
        /// The body size class (`body_limits`); `default` when absent.
        public var body: String?
        /// Only for OAuth client authentication (`/oauth/token`, RFC 6749 §2.3.1): forward the
        /// client's `Authorization` header to identity instead of stripping it.
        public var forwardAuthorization: Bool?
        /// Where a cookie-authenticated state change carries its anti-CSRF token: `header`
        /// (`X-CSRF-Token`, checked here; the default) or `form` (a server-rendered form whose
        /// service checks the field itself).
        public var csrf: CSRFLocation?
        /// The rate-limit route class (`sign_in`, `search`, `export`, …); `api` when absent.
        public var rateClass: String?

        enum CodingKeys: String, CodingKey {
            case prefix, service, auth, body, csrf
            case forwardAuthorization = "forward_authorization"
            case rateClass = "rate_class"
        }

        public init(prefix: String, service: ServiceName, auth: AuthRequirement, body: String? = nil, forwardAuthorization: Bool? = nil,
                    csrf: CSRFLocation? = nil, rateClass: String? = nil) {
            self.rateClass = rateClass
            self.prefix = prefix
            self.service = service
            self.auth = auth
            self.body = body
            self.forwardAuthorization = forwardAuthorization
            self.csrf = csrf
        }
    }

    /// Where a route's anti-CSRF token travels.
    public enum CSRFLocation: String, Codable, Sendable {
        case header
        case form
    }

    /// What a route asks of the caller.
    public enum AuthRequirement: String, Codable, Sendable {
        /// A valid session cookie or bearer credential, or 401 at the edge.
        case required
        /// Resolved when present and valid; the request goes on without a principal otherwise.
        case optional
        /// Never resolved (sign-in itself, discovery documents, the status page).
        case none
    }

    /// Size and time limits of the public listener.
    public struct Limits: Codable, Sendable, Equatable {
        public var maxHeaderBytes: Int
        public var maxHeaderCount: Int
        public var headerReadTimeoutMilliseconds: Int
        public var bodyReadTimeoutMilliseconds: Int
        public var idleTimeoutMilliseconds: Int
        public var maxConnectionsPerIP: Int
        /// Longest wait for a client to take more of a response (the connection, or an HTTP/2
        /// stream, stays unwritable: the client stopped reading); closed after it.
        public var writeTimeoutMilliseconds: Int
        /// Concurrent streams one HTTP/2 connection may have open (SETTINGS_MAX_CONCURRENT_STREAMS).
        public var maxConcurrentStreams: Int
        /// Bodies of size classes up to this many bytes are read whole (inspected) before
        /// forwarding; larger classes stream and inspection sees the head only.
        public var inspectBodyBytes: Int
        /// Bytes a second a request body must average once its first body-read timeout has
        /// passed (500 when not set): a client sending a byte a second is cut off.
        public var minimumBodyRate: Int?

        /// The minimum body rate in force.
        public var effectiveMinimumBodyRate: Int { minimumBodyRate ?? 500 }

        enum CodingKeys: String, CodingKey {
            case maxHeaderBytes = "max_header_bytes"
            case maxHeaderCount = "max_header_count"
            case headerReadTimeoutMilliseconds = "header_read_timeout_ms"
            case bodyReadTimeoutMilliseconds = "body_read_timeout_ms"
            case idleTimeoutMilliseconds = "idle_timeout_ms"
            case maxConnectionsPerIP = "max_connections_per_ip"
            case writeTimeoutMilliseconds = "write_timeout_ms"
            case maxConcurrentStreams = "max_concurrent_streams"
            case inspectBodyBytes = "inspect_body_bytes"
            case minimumBodyRate = "min_body_rate_bytes_per_s"
        }
    }

    /// Timeouts towards the internal services.
    public struct Upstream: Codable, Sendable, Equatable {
        public var connectTimeoutMilliseconds: Int
        public var responseTimeoutMilliseconds: Int

        enum CodingKeys: String, CodingKey {
            case connectTimeoutMilliseconds = "connect_timeout_ms"
            case responseTimeoutMilliseconds = "response_timeout_ms"
        }
    }

    /// Which status instance answers `status.{base-domain}`: this gateway's own region's while it
    /// is healthy, otherwise the first healthy one of `order` (see ``StatusFailover``).
    public struct StatusFailoverSettings: Codable, Sendable, Equatable {
        /// Regions whose status instances are tried after the own region's, in this order.
        public var order: [Region]
        /// How often each instance's `/healthz` is checked; an answer counts until the next check.
        public var healthIntervalMilliseconds: Int
        /// Longest wait for one health check.
        public var healthTimeoutMilliseconds: Int

        enum CodingKeys: String, CodingKey {
            case order
            case healthIntervalMilliseconds = "health_interval_ms"
            case healthTimeoutMilliseconds = "health_timeout_ms"
        }
    }

    /// How long and how many resolved principals the edge keeps.
    public struct Authentication: Codable, Sendable, Equatable {
        public var cacheTTLSeconds: Int
        public var cacheEntries: Int

        enum CodingKeys: String, CodingKey {
            case cacheTTLSeconds = "cache_ttl_seconds"
            case cacheEntries = "cache_entries"
        }
    }

    /// RFC 9116 fields of `/.well-known/security.txt`.
    public struct SecurityTxt: Codable, Sendable, Equatable {
        public var contact: [String]
        public var expires: Date
        public var policy: String?
        public var preferredLanguages: [String]?
        /// Canonical URLs; when empty, the requesting host's own URL.
        public var canonical: [String]?

        enum CodingKeys: String, CodingKey {
            case contact, expires, policy, canonical
            case preferredLanguages = "preferred_languages"
        }
    }

    public var routes: [Route]
    /// Every path of `status.{base-domain}`.
    public var statusRoutes: [Route]
    /// Prefixes answered 404 on every host, whatever the routes say (internal and operator routes).
    public var blockedPrefixes: [String]
    /// Body size classes in bytes; `default` must exist.
    public var bodyLimits: [String: Int]
    public var limits: Limits
    public var upstream: Upstream
    public var authentication: Authentication
    public var securityTxt: SecurityTxt
    public var statusFailover: StatusFailoverSettings

    private struct Document: Codable {
        var version: Int
        var routes: [Route]
        var statusRoutes: [Route]
        var blockedPrefixes: [String]
        var bodyLimits: [String: Int]
        var limits: Limits
        var upstream: Upstream
        var authentication: Authentication
        var securityTxt: SecurityTxt
        var statusFailover: StatusFailoverSettings

        enum CodingKeys: String, CodingKey {
            case version, routes, limits, upstream, authentication
            case statusFailover = "status_failover"
            case statusRoutes = "status_routes"
            case blockedPrefixes = "blocked_prefixes"
            case bodyLimits = "body_limits"
            case securityTxt = "security_txt"
        }
    }

    /// Parses and checks the YAML document; the error says what is wrong.
    public init(yaml: String) throws {
        let document: Document
        do {
            let decoder = YAMLDecoder()
            document = try decoder.decode(Document.self, from: yaml)
        } catch {
            throw EdgePolicyError("is not a valid edge policy document")
        }
        guard document.version == 1 else { throw EdgePolicyError("has an unsupported version (expected 1)") }
        routes = document.routes
        statusRoutes = document.statusRoutes
        blockedPrefixes = document.blockedPrefixes
        bodyLimits = document.bodyLimits
        limits = document.limits
        upstream = document.upstream
        authentication = document.authentication
        securityTxt = document.securityTxt
        statusFailover = document.statusFailover
        try validate()
    }

    /// Reads the file named by `RAMPART_EDGE_POLICY`.
    public init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(key: "RAMPART_EDGE_POLICY", reason: "cannot read \(path)")
        }
        do {
            try self.init(yaml: text)
        } catch let error as EdgePolicyError {
            throw ConfigError(key: "RAMPART_EDGE_POLICY", reason: error.description)
        }
    }

    private func validate() throws {
        for route in routes + statusRoutes {
            guard route.prefix.hasPrefix("/"), !route.prefix.contains("//"), !route.prefix.contains("..") else {
                throw EdgePolicyError("has a route prefix not starting with / or not canonical: \(route.prefix)")
            }
            guard bodyLimits[route.body ?? "default"] != nil else {
                throw EdgePolicyError("route \(route.prefix) names an unknown body class")
            }
            guard route.service != .gateway else { throw EdgePolicyError("route \(route.prefix) points at the gateway itself") }
        }
        guard Set(routes.map(\.prefix)).count == routes.count else { throw EdgePolicyError("lists a route prefix twice") }
        // The status host fails over between regions' status instances, and only those.
        guard statusRoutes.allSatisfy({ $0.service == .status }) else { throw EdgePolicyError("status_routes may only go to the status service") }
        guard Set(statusFailover.order).count == statusFailover.order.count,
              (100...600_000).contains(statusFailover.healthIntervalMilliseconds), (100...60000).contains(statusFailover.healthTimeoutMilliseconds)
        else { throw EdgePolicyError("status_failover needs distinct regions and health timings in range (see docs/gateway.md)") }
        guard bodyLimits["default"] != nil, bodyLimits.values.allSatisfy({ (0...(1 << 34)).contains($0) }) else {
            throw EdgePolicyError("body_limits needs a default and sizes between 0 and 16 GiB")
        }
        guard blockedPrefixes.allSatisfy({ $0.hasPrefix("/") }) else { throw EdgePolicyError("has a blocked prefix not starting with /") }
        let limits = limits
        guard (1024...65536).contains(limits.maxHeaderBytes), (8...500).contains(limits.maxHeaderCount),
              [limits.headerReadTimeoutMilliseconds, limits.bodyReadTimeoutMilliseconds, limits.idleTimeoutMilliseconds, limits.writeTimeoutMilliseconds]
                .allSatisfy({ (100...600_000).contains($0) }),
              (1...100_000).contains(limits.maxConnectionsPerIP), (1...1000).contains(limits.maxConcurrentStreams),
              (0...(16 << 20)).contains(limits.inspectBodyBytes), (1...(100 << 20)).contains(limits.effectiveMinimumBodyRate)
        else { throw EdgePolicyError("limits are out of range (see docs/gateway.md)") }
        guard (100...60000).contains(upstream.connectTimeoutMilliseconds), (100...600_000).contains(upstream.responseTimeoutMilliseconds) else {
            throw EdgePolicyError("upstream timeouts are out of range")
        }
        // A revoked credential must stop working within 30 seconds.
        guard (1...30).contains(authentication.cacheTTLSeconds), (1...1_000_000).contains(authentication.cacheEntries) else {
            throw EdgePolicyError("authentication cache_ttl_seconds must be 1-30 and cache_entries 1-1000000")
        }
        guard !securityTxt.contact.isEmpty, securityTxt.contact.allSatisfy({ $0.hasPrefix("mailto:") || $0.hasPrefix("https://") || $0.hasPrefix("tel:") }) else {
            throw EdgePolicyError("security_txt needs at least one mailto:, https: or tel: contact")
        }
        for value in securityTxt.contact + [securityTxt.policy].compactMap({ $0 }) + (securityTxt.canonical ?? []) + (securityTxt.preferredLanguages ?? [])
        where value.contains(where: { $0.isNewline }) {
            throw EdgePolicyError("security_txt values must be single lines")
        }
    }
}

/// Why an edge policy file was refused.
public struct EdgePolicyError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
