import Hummingbird
import RampartCore
import RampartTransport

/// `rampart-backup` will own backups, restores, retention, tenant cancellation and purge, exports and erasure. Today it runs the shared internal listener only
/// (mutual TLS, allow-list, health, readiness, metrics); its issue builds the features.
public enum BackupService {
    /// Prepares the runtime (configuration files, database, migrations) and builds the application.
    public static func buildApplication(_ config: ServiceConfig) async throws -> some ApplicationProtocol {
        let runtime = try await ServiceRuntime.prepare(config: config, migrations: BackupMigrations.all)
        return try ServiceApplication.build(runtime: runtime)
    }
}
