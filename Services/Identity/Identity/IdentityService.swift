import Hummingbird
import RampartCore
import RampartTransport

/// `rampart-identity`: tenants, users, roles, passwords, sessions, TOTP, API keys, tokens, the OAuth 2.0 server and single sign-on.
public enum IdentityService {
    /// Prepares the runtime (configuration files, database, migrations) and builds the application.
    public static func buildApplication(_ config: ServiceConfig) async throws -> some ApplicationProtocol {
        let runtime = try await ServiceRuntime.prepare(config: config, migrations: IdentityMigrations.all)
        return try ServiceApplication.build(runtime: runtime, migrations: IdentityMigrations.all)
    }
}
