import Foundation
import RampartCore

/// The gateway's public-edge configuration keys (see docs/configuration.md). The edge runs only
/// when `RAMPART_PUBLIC_PORT` is set; then the certificate, the policy and the upstreams are required.
public struct EdgeSettings: Sendable {
    /// Address of the public listeners (all interfaces by default: this is the internet-facing side).
    public var host: String
    public var httpsPort: Int
    /// Plain-HTTP port that only redirects to HTTPS; none when unset.
    public var redirectPort: Int?
    public var certificatePath: String
    public var privateKeyPath: String
    public var policyPath: String
    /// `endpoints.json`-shaped file naming each region's internal service URLs.
    public var upstreamsPath: String
    /// The regions whose hosts this edge serves; this instance's own region by default.
    public var regions: [Region]
    /// Directory holding `gateway-<region>.crt`/`.key` for fronted regions other than this instance's own.
    public var regionCertificateDirectory: String?
    /// The WAF's rules file (`Deploy/waf/rules.yaml`).
    public var wafRulesPath: String
    /// The WAF's policy: paranoia, threshold, per-tenant detection-only (`Deploy/waf/policy.yaml`).
    public var wafPolicyPath: String
    /// The rate limits (`Deploy/gateway/rate-limits.yaml`).
    public var rateLimitsPath: String

    /// The edge settings in `config`, or `nil` when `RAMPART_PUBLIC_PORT` is unset.
    public static func load(_ config: ServiceConfig) throws -> EdgeSettings? {
        let source = config.source
        let port: (String) -> Int? = { raw in Int(raw).flatMap { (1...65535).contains($0) ? $0 : nil } }
        guard source.optional("RAMPART_PUBLIC_PORT") != nil else { return nil }
        let httpsPort = try source.required("RAMPART_PUBLIC_PORT", expected: "a TCP port (1-65535)", port)
        let redirectPort: Int? = try source.value("RAMPART_PUBLIC_REDIRECT_PORT", default: nil, expected: "a TCP port (1-65535)", port)
        guard redirectPort != httpsPort, httpsPort != config.listenPort, redirectPort != config.listenPort else {
            throw ConfigError(key: "RAMPART_PUBLIC_PORT", reason: "must differ from RAMPART_PUBLIC_REDIRECT_PORT and RAMPART_LISTEN_PORT")
        }
        let regions: [Region] = try source.value("RAMPART_EDGE_REGIONS", default: [config.region], expected: "a comma-separated list of regions from RAMPART_REGIONS") { raw in
            let parsed = raw.split(separator: ",").map { Region(rawValue: $0.trimmingCharacters(in: .whitespaces)) }
            let regions = parsed.compactMap { $0 }
            guard !regions.isEmpty, regions.count == parsed.count, Set(regions).count == regions.count,
                  regions.allSatisfy(config.regions.contains) else { return nil }
            return regions
        }
        let directory = source.optional("RAMPART_EDGE_PKI_DIR")
        if regions.contains(where: { $0 != config.region }), directory == nil {
            throw ConfigError(key: "RAMPART_EDGE_PKI_DIR", reason: "is required when RAMPART_EDGE_REGIONS names another region")
        }
        return EdgeSettings(
            host: source.optional("RAMPART_PUBLIC_HOST") ?? "0.0.0.0",
            httpsPort: httpsPort,
            redirectPort: redirectPort,
            certificatePath: try source.readableFile("RAMPART_PUBLIC_TLS_CERT"),
            privateKeyPath: try source.readableFile("RAMPART_PUBLIC_TLS_KEY"),
            policyPath: try source.readableFile("RAMPART_EDGE_POLICY"),
            upstreamsPath: try source.readableFile("RAMPART_UPSTREAMS"),
            regions: regions,
            regionCertificateDirectory: directory,
            wafRulesPath: try source.readableFile("RAMPART_WAF_RULES"),
            wafPolicyPath: try source.readableFile("RAMPART_WAF_POLICY"),
            rateLimitsPath: try source.readableFile("RAMPART_RATE_LIMITS")
        )
    }
}
