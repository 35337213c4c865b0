import Hummingbird
import RampartCore
import RampartTransport

/// `rampart-gateway`: the only process facing the internet: TLS, WAF, rate limits, regional routing and edge authentication (its internal listener serves health and metrics).
public enum GatewayService {
    /// Prepares the runtime (configuration files, database, migrations) and builds the application.
    public static func buildApplication(_ config: ServiceConfig) async throws -> some ApplicationProtocol {
        let runtime = try await ServiceRuntime.prepare(config: config, migrations: [])
        return try ServiceApplication.build(runtime: runtime, migrations: [])
    }
}
