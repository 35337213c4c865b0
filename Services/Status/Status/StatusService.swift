import Hummingbird
import RampartCore
import RampartTransport

/// `rampart-status` will own component probes, uptime history, incidents and the public status page. Today it runs the shared internal listener only
/// (mutual TLS, allow-list, health, readiness, metrics); its issue builds the features.
public enum StatusService {
    /// Prepares the runtime (configuration files, database, migrations) and builds the application.
    public static func buildApplication(_ config: ServiceConfig) async throws -> some ApplicationProtocol {
        let runtime = try await ServiceRuntime.prepare(config: config, migrations: StatusMigrations.all)
        return try ServiceApplication.build(runtime: runtime)
    }
}
