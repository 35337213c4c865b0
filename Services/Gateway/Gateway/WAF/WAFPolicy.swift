import Foundation
import Yams

/// How the WAF acts on its findings (`Deploy/waf/policy.yaml`): paranoia level, inbound anomaly
/// threshold, blocking or detection-only, per tenant.
public struct WAFPolicy: Sendable {
    /// The settings that apply to one request.
    public struct Settings: Sendable, Equatable {
        /// Rules up to this paranoia level run (1–4; higher catches more and risks false positives).
        public var paranoia: Int
        /// A request whose anomaly score reaches this is refused (in blocking mode).
        public var inboundThreshold: Int
        /// Whether findings are only logged, never blocked.
        public var detectionOnly: Bool

        /// Settings with the given values.
        public init(paranoia: Int = 1, inboundThreshold: Int = 5, detectionOnly: Bool = false) {
            self.paranoia = paranoia
            self.inboundThreshold = inboundThreshold
            self.detectionOnly = detectionOnly
        }
    }

    /// Settings for tenants without their own.
    public var defaults: Settings
    /// Settings by tenant slug.
    public var tenants: [String: Settings]
    /// The most bytes of one value (argument, header, field) inspected.
    public var maximumValueBytes: Int

    /// A policy with the given settings.
    public init(defaults: Settings = Settings(), tenants: [String: Settings] = [:], maximumValueBytes: Int = 64 * 1024) {
        self.defaults = defaults
        self.tenants = tenants
        self.maximumValueBytes = maximumValueBytes
    }

    /// The settings for `tenant`.
    public func settings(for tenant: String?) -> Settings {
        tenant.flatMap { tenants[$0] } ?? defaults
    }

    /// Parses the YAML policy document.
    public init(yaml: String) throws {
        let document: Document
        do {
            document = try YAMLDecoder().decode(Document.self, from: yaml)
        } catch {
            throw WAFPolicyError.malformed(String(describing: error))
        }
        guard document.version == 1 else { throw WAFPolicyError.malformed("version \(document.version) is not supported (expected 1)") }
        let defaults = try Self.settings(document.paranoia, document.inboundThreshold, document.mode, base: Settings(), scope: "defaults")
        var tenants: [String: Settings] = [:]
        for (tenant, entry) in document.tenants ?? [:] {
            tenants[tenant] = try Self.settings(entry.paranoia, entry.inboundThreshold, entry.mode, base: defaults, scope: "tenant \(tenant)")
        }
        let maximum = document.maximumValueBytes ?? 64 * 1024
        guard maximum >= 256 else { throw WAFPolicyError.invalid(scope: "defaults", reason: "maximum_value_bytes must be at least 256") }
        self.init(defaults: defaults, tenants: tenants, maximumValueBytes: maximum)
    }

    /// Reads the YAML policy file at `path`.
    public init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else { throw WAFPolicyError.malformed("cannot read \(path)") }
        try self.init(yaml: String(decoding: data, as: UTF8.self))
    }

    private static func settings(_ paranoia: Int?, _ threshold: Int?, _ mode: String?, base: Settings, scope: String) throws -> Settings {
        var settings = base
        if let paranoia {
            guard (1...4).contains(paranoia) else { throw WAFPolicyError.invalid(scope: scope, reason: "paranoia must be 1 to 4") }
            settings.paranoia = paranoia
        }
        if let threshold {
            guard threshold >= 1 else { throw WAFPolicyError.invalid(scope: scope, reason: "inbound_threshold must be positive") }
            settings.inboundThreshold = threshold
        }
        switch mode {
        case nil: break
        case "blocking": settings.detectionOnly = false
        case "detection_only": settings.detectionOnly = true
        case let other?: throw WAFPolicyError.invalid(scope: scope, reason: "mode \"\(other)\" is not blocking or detection_only")
        }
        return settings
    }

    private struct Document: Decodable {
        var version: Int
        var paranoia: Int?
        var inboundThreshold: Int?
        var mode: String?
        var maximumValueBytes: Int?
        var tenants: [String: Entry]?

        enum CodingKeys: String, CodingKey {
            case version, paranoia, mode, tenants
            case inboundThreshold = "inbound_threshold"
            case maximumValueBytes = "maximum_value_bytes"
        }
    }

    private struct Entry: Decodable {
        var paranoia: Int?
        var inboundThreshold: Int?
        var mode: String?

        enum CodingKeys: String, CodingKey {
            case paranoia, mode
            case inboundThreshold = "inbound_threshold"
        }
    }
}

/// Why a WAF policy file was refused.
public enum WAFPolicyError: Error, Equatable, CustomStringConvertible {
    /// The file is not a valid document.
    case malformed(String)
    /// A setting is out of range, in the defaults or a tenant's entry.
    case invalid(scope: String, reason: String)

    /// A message naming what is wrong, for the start-up error.
    public var description: String {
        switch self {
        case .malformed(let detail): "WAF policy file is not valid: \(detail)"
        case .invalid(let scope, let reason): "WAF policy (\(scope)): \(reason)"
        }
    }
}
