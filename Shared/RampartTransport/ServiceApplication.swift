import Hummingbird
import HummingbirdTLS
import Logging
import RampartCore
import RampartStorage
import ServiceLifecycle

/// Builds the Hummingbird application every service runs: the internal mutual-TLS listener,
/// the internal request pipeline, health and metrics routes, and the service's own routes.
public enum ServiceApplication {
    /// The application for `runtime`; `routes` adds the service's own routes, `services` more
    /// long-lived parts (the gateway's public listeners) that run and stop with it.
    /// `onListening` runs once the internal listener is bound (tests wait for it).
    public static func build(
        runtime: ServiceRuntime,
        services extraServices: [any Service] = [],
        routes: (Router<ServiceRequestContext>) throws -> Void = { _ in },
        onListening: @escaping @Sendable () async -> Void = {}
    ) throws -> some ApplicationProtocol {
        let router = Router(context: ServiceRequestContext.self)
        router.add(middleware: InternalRequestMiddleware(
            service: runtime.config.service, region: runtime.config.region, allowList: runtime.allowList,
            verifier: runtime.principalVerifier, metrics: runtime.metrics
        ))
        var checks: [HealthRoutes.Check] = []
        // A service group stops its services in reverse order: the database client comes first so
        // that it closes last, after every loop that queries through it has stopped.
        var services: [any Service] = []
        if let database = runtime.database, let runner = runtime.migrationRunner {
            checks += HealthRoutes.databaseChecks(database: database, migrations: runner)
            services.append(database.client)
        }
        services += extraServices
        HealthRoutes(checks: checks, metrics: runtime.metrics).register(on: router)
        try routes(router)

        return Application(
            router: router,
            server: try .tls(.http1(), tlsConfiguration: runtime.tls.serverConfiguration()),
            configuration: .init(
                address: .hostname(runtime.config.listenHost, port: runtime.config.listenPort),
                serverName: runtime.config.service.executableName
            ),
            services: services,
            onServerRunning: { _ in await onListening() },
            logger: runtime.logger
        )
    }
}
