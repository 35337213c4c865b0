import AsyncHTTPClient
import Logging
import NIOHTTP1
import NIOCore
import RampartCore
import RampartTransport
import ServiceLifecycle
import Synchronization

/// The status instances `status.{base-domain}` can go to, in the order they are tried — this
/// gateway's own region's first, then `status_failover.order` — and whether each answered its
/// last health check (`GET /healthz` over mutual TLS, in the background every
/// `health_interval_ms`, so a request never waits for one). Every status instance can serve the
/// whole page, so the public page survives the loss of a region.
///
/// Calls present this gateway's own certificate, also to other regions' instances: the
/// allow-list lets the gateway reach the status service across regions (GET and HEAD only).
final class StatusFailover: Service, Sendable {
    let instances: [UpstreamTarget]
    /// For the health checks; requests go through the instances' pool.
    private let client: InternalClient
    private let pool: UpstreamPool
    /// Per instance: whether its last health check failed. Unchecked instances count as healthy.
    private let down: Mutex<[Bool]>
    private let interval: Duration
    private let timeout: TimeAmount
    private let logger: Logger

    /// The instances of `endpoints` in failover order: `ownRegion`, then `policy.order`; regions
    /// without a status endpoint are left out.
    init(endpoints: [Region: String], ownRegion: Region, policy: EdgePolicy.StatusFailoverSettings, upstream: EdgePolicy.Upstream,
         tls: InternalTLS, logger: Logger) throws {
        let client = InternalClient(tls: tls, timeout: .init(
            connect: .milliseconds(Int64(upstream.connectTimeoutMilliseconds)), read: .milliseconds(Int64(upstream.responseTimeoutMilliseconds))
        ))
        let pool = try UpstreamPool(tls: tls, connectTimeout: .milliseconds(Int64(upstream.connectTimeoutMilliseconds)))
        var seen = Set<Region>()
        instances = ([ownRegion] + policy.order).compactMap { region in
            guard seen.insert(region).inserted, let baseURL = endpoints[region] else { return nil }
            return UpstreamTarget(region: region, service: .status, baseURL: baseURL, pool: pool)
        }
        self.client = client
        self.pool = pool
        down = Mutex([Bool](repeating: false, count: instances.count))
        interval = .milliseconds(policy.healthIntervalMilliseconds)
        timeout = .milliseconds(Int64(policy.healthTimeoutMilliseconds))
        self.logger = logger
    }

    /// The instances to try for one request: those that passed (or have not had) their last
    /// check in failover order, then the others — the checks may be stale, and a page from a
    /// region thought down beats none.
    func candidates() -> [UpstreamTarget] {
        let down = down.withLock { $0 }
        let order = instances.indices.filter { !down[$0] } + instances.indices.filter { down[$0] }
        return order.map { instances[$0] }
    }

    /// `instance` could not be reached for a request: it is skipped until a check finds it healthy.
    func markUnreachable(_ instance: UpstreamTarget) {
        guard let position = instances.firstIndex(where: { $0.region == instance.region }) else { return }
        record(position, healthy: false)
    }

    /// Checks every instance each interval until the gateway shuts down, then closes the client and pool.
    func run() async throws {
        await Periodic.run(every: interval) {
            await withTaskGroup(of: Void.self) { group in
                for position in self.instances.indices {
                    group.addTask { self.record(position, healthy: await self.check(self.instances[position])) }
                }
            }
        }
        try? await client.shutdown()
        await pool.shutdown()
    }

    /// Whether `instance` answers `GET /healthz` with 200 within the health timeout.
    private func check(_ instance: UpstreamTarget) async -> Bool {
        do {
            let response = try await client.http.execute(HTTPClientRequest(url: instance.baseURL + "/healthz"), timeout: timeout)
            _ = try? await response.body.collect(upTo: 64 * 1024)
            return response.status == .ok
        } catch {
            return false
        }
    }

    private func record(_ position: Int, healthy: Bool) {
        let wasDown = down.withLock { state in
            defer { state[position] = !healthy }
            return state[position]
        }
        if wasDown == healthy {
            logger.notice(healthy ? "edge.status.instance_up" : "edge.status.instance_down",
                          metadata: ["upstream.region": "\(instances[position].region)"])
        }
    }
}
