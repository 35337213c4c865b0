import AsyncHTTPClient
import Foundation
import RampartCore
import RampartSecurity
import RampartTransport
import ServiceLifecycle

/// The internal services of every region this edge fronts: their URLs (from an
/// `endpoints.json`-shaped file), one mutual-TLS client per region for the edge's own calls and
/// one connection pool per region for proxied requests, both presenting that region's gateway
/// certificate, so each region's services see their own region's gateway.
public struct Upstreams: Sendable {
    /// One region's services and the client and pool that reach them.
    public struct RegionUpstreams: Sendable {
        public let endpoints: [ServiceName: String]
        public let client: InternalClient
        /// Where proxied requests go, per service.
        let targets: [ServiceName: UpstreamTarget]
        let pool: UpstreamPool
    }

    public let regions: [Region: RegionUpstreams]
    /// The status instance of every region the endpoints file names, fronted or not: the status
    /// page fails over to another region's instance (``StatusFailover``).
    public let statusEndpoints: [Region: String]

    private struct Document: Decodable {
        var regions: [String: [String: String]]
    }

    /// Loads the endpoints file and each fronted region's gateway certificate (this instance's
    /// own for its own region, `gateway-<region>.crt`/`.key` from `RAMPART_EDGE_PKI_DIR` for others).
    public init(settings: EdgeSettings, runtime: ServiceRuntime, policy: EdgePolicy) throws {
        guard let data = FileManager.default.contents(atPath: settings.upstreamsPath),
              let document = try? JSONDecoder().decode(Document.self, from: data)
        else { throw ConfigError(key: "RAMPART_UPSTREAMS", reason: "is not an endpoints file ({\"regions\": {region: {service: url}}})") }
        let timeout = HTTPClient.Configuration.Timeout(
            connect: .milliseconds(Int64(policy.upstream.connectTimeoutMilliseconds)),
            read: .milliseconds(Int64(policy.upstream.responseTimeoutMilliseconds))
        )
        var regions: [Region: RegionUpstreams] = [:]
        for region in settings.regions {
            guard let services = document.regions[region.rawValue] else {
                throw ConfigError(key: "RAMPART_UPSTREAMS", reason: "names no endpoints for region \(region)")
            }
            var endpoints: [ServiceName: String] = [:]
            for (name, url) in services {
                guard let service = ServiceName(rawValue: name), service != .gateway else { continue }
                endpoints[service] = try Self.baseURL(url, region: region.rawValue, service: name)
            }
            let tls = try Self.tls(for: region, settings: settings, runtime: runtime)
            let pool = try UpstreamPool(tls: tls, connectTimeout: timeout.connect ?? .seconds(5))
            var targets: [ServiceName: UpstreamTarget] = [:]
            for (service, baseURL) in endpoints {
                targets[service] = UpstreamTarget(region: region, service: service, baseURL: baseURL, pool: pool)
            }
            regions[region] = RegionUpstreams(
                endpoints: endpoints, client: InternalClient(tls: tls, timeout: timeout), targets: targets, pool: pool
            )
        }
        self.regions = regions
        var statusEndpoints: [Region: String] = [:]
        for (name, services) in document.regions {
            guard let region = Region(rawValue: name), let url = services[ServiceName.status.rawValue] else { continue }
            statusEndpoints[region] = try Self.baseURL(url, region: name, service: ServiceName.status.rawValue)
        }
        self.statusEndpoints = statusEndpoints
    }

    /// `url` without a trailing `/`, when it is an `https://host:port` URL.
    private static func baseURL(_ url: String, region: String, service: String) throws -> String {
        guard let parsed = URL(string: url), parsed.scheme == "https", parsed.host != nil, parsed.path.isEmpty || parsed.path == "/",
              UpstreamPool.Address(baseURL: url) != nil else {
            throw ConfigError(key: "RAMPART_UPSTREAMS", reason: "\(region)/\(service) is not an https://host:port URL")
        }
        return url.hasSuffix("/") ? String(url.dropLast()) : url
    }

    /// Where `service` of `region` is reached, when this edge fronts the region and it has one.
    func target(_ service: ServiceName, in region: Region) -> UpstreamTarget? {
        regions[region]?.targets[service]
    }

    private static func tls(for region: Region, settings: EdgeSettings, runtime: ServiceRuntime) throws -> InternalTLS {
        if region == runtime.config.region { return runtime.tls }
        let directory = URL(fileURLWithPath: settings.regionCertificateDirectory ?? ".")
        let files = ServiceConfig.TLSFiles(
            caCertificatePath: runtime.config.tls.caCertificatePath,
            certificatePath: directory.appendingPathComponent("gateway-\(region).crt").path,
            privateKeyPath: directory.appendingPathComponent("gateway-\(region).key").path
        )
        let tls: InternalTLS
        do {
            tls = try InternalTLS(files: files)
        } catch {
            throw ConfigError(key: "RAMPART_EDGE_PKI_DIR", reason: "has no valid gateway-\(region).crt/.key")
        }
        guard tls.identity == .service(.gateway, region) else {
            throw ConfigError(key: "RAMPART_EDGE_PKI_DIR", reason: "gateway-\(region).crt names \(tls.identity), not the \(region) gateway")
        }
        return tls
    }

    /// Closes every client and pool; run by ``UpstreamLifecycle`` at shutdown.
    func shutdown() async {
        for upstream in regions.values {
            try? await upstream.client.shutdown()
            await upstream.pool.shutdown()
        }
    }
}

/// One service instance a request can be forwarded to, and the pool that reaches it.
struct UpstreamTarget: Sendable {
    let region: Region
    let service: ServiceName
    /// `https://host:port`, without a trailing `/`.
    let baseURL: String
    let address: UpstreamPool.Address
    let pool: UpstreamPool

    /// `nil` when `baseURL` names no host (``Upstreams`` refuses such a file).
    init?(region: Region, service: ServiceName, baseURL: String, pool: UpstreamPool) {
        guard let address = UpstreamPool.Address(baseURL: baseURL) else { return nil }
        self.region = region
        self.service = service
        self.baseURL = baseURL
        self.address = address
        self.pool = pool
    }
}

/// Keeps the upstream clients for the life of the process and closes their pools at shutdown.
struct UpstreamLifecycle: Service {
    let upstreams: Upstreams

    func run() async throws {
        try? await gracefulShutdown()
        await upstreams.shutdown()
    }
}
