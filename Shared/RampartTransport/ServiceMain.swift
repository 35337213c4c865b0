import Foundation
import Hummingbird
import Logging
import Metrics
import PostgresNIO
import Prometheus
import RampartCore
import RampartStorage
import ServiceLifecycle

/// The whole of a service's `main`: load configuration, build, run until SIGTERM or SIGINT,
/// finish in-flight requests within the grace period. A start-up failure prints one line
/// naming the problem and exits non-zero, without a stack trace.
public enum ServiceMain {
    public static func run<App: ApplicationProtocol>(
        _ service: ServiceName,
        build: @Sendable (ServiceConfig) async throws -> App
    ) async -> Never {
        let config: ServiceConfig
        do {
            config = try ServiceConfig.load(service: service)
        } catch {
            fail(service, error)
        }
        JSONLogHandler.bootstrap(level: config.logLevel)
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: RequestMetrics.processRegistry))
        do {
            let app = try await build(config)
            var lifecycle = ServiceGroupConfiguration(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: app.logger)
            lifecycle.maximumGracefulShutdownDuration = config.shutdownGracePeriod
            try await ServiceGroup(configuration: lifecycle).run()
            // Lines still batched (the gateway's access log, when shutdown ran out of time) go out first.
            JSONLogHandler.Sink.flushStandardOutput()
            exit(0)
        } catch {
            fail(service, error)
        }
    }

    private static func fail(_ service: ServiceName, _ error: any Error) -> Never {
        let line: String
        switch error {
        case let error as ConfigError: line = error.description
        case let error as StartupError: line = error.description
        case let error as DatabaseUnavailable: line = error.description
        case let error as MigrationError: line = "migrations: \(error)"
        case let error as PSQLError:
            let state = error.serverInfo?[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
            line = "database error: \(error.code)\(state)"
        default: line = "start-up failed: \(type(of: error))"
        }
        JSONLogHandler.Sink.flushStandardOutput()
        FileHandle.standardError.write(Data("\(service.executableName): \(line)\n".utf8))
        exit(error is ConfigError ? 78 : 1)
    }
}
