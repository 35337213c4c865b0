import Hummingbird
import RampartCore
import RampartTransport

/// `rampart-gateway`: the only process facing the internet. It runs the shared internal
/// listener (mutual TLS, allow-list, health, readiness, metrics) and, when `RAMPART_PUBLIC_PORT`
/// is set, the public edge: TLS termination, routing by `{tenant}.{region}.{base-domain}`, edge
/// authentication, rate limits and the WAF (``ShieldInspection``), size and time limits, security
/// headers, proxying and the access log (see docs/gateway.md, docs/gateway-waf.md, docs/rate-limits.md).
public enum GatewayService {
    /// Prepares the runtime and builds the application (internal listener plus public edge);
    /// `accessLog` is where the edge's access lines go (standard output unless a test captures them).
    public static func buildApplication(_ config: ServiceConfig, accessLog: AccessLog = AccessLog()) async throws -> some ApplicationProtocol {
        let runtime = try await ServiceRuntime.prepare(config: config, migrations: [])
        let edge = try EdgeSettings.load(config).map { try EdgeServer.services(settings: $0, runtime: runtime, accessLog: accessLog) } ?? []
        return try ServiceApplication.build(runtime: runtime, services: edge)
    }
}
