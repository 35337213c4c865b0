import Hummingbird
import RampartCore
import RampartTransport

/// `rampart-gateway` will be the only process facing the internet (TLS, WAF, rate limits, regional routing, edge authentication). Today it runs the shared internal listener only
/// (mutual TLS, allow-list, health, readiness, metrics); its issue builds the features.
public enum GatewayService {
    /// Prepares the runtime (configuration files, database, migrations) and builds the application.
    public static func buildApplication(_ config: ServiceConfig) async throws -> some ApplicationProtocol {
        let runtime = try await ServiceRuntime.prepare(config: config, migrations: [])
        return try ServiceApplication.build(runtime: runtime)
    }
}
