import Hummingbird
import RampartCore
import RampartTransport

/// `rampart-tickets` will own tickets, messages, people, organizations, departments, attachments and search. Today it runs the shared internal listener only
/// (mutual TLS, allow-list, health, readiness, metrics); its issue builds the features.
public enum TicketsService {
    /// Prepares the runtime (configuration files, database, migrations) and builds the application.
    public static func buildApplication(_ config: ServiceConfig) async throws -> some ApplicationProtocol {
        let runtime = try await ServiceRuntime.prepare(config: config, migrations: TicketsMigrations.all)
        return try ServiceApplication.build(runtime: runtime)
    }
}
