import Hummingbird
import RampartCore
import RampartTransport

/// `rampart-audit` will own the tamper-evident audit log, agent activity and anomaly alerts. Today it runs the shared internal listener only
/// (mutual TLS, allow-list, health, readiness, metrics); its issue builds the features.
public enum AuditService {
    /// Prepares the runtime (configuration files, database, migrations) and builds the application.
    public static func buildApplication(_ config: ServiceConfig) async throws -> some ApplicationProtocol {
        let runtime = try await ServiceRuntime.prepare(config: config, migrations: AuditMigrations.all)
        return try ServiceApplication.build(runtime: runtime)
    }
}
