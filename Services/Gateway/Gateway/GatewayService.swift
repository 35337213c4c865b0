import Dispatch
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import RampartCore
import RampartTransport
import ServiceLifecycle

/// `rampart-gateway`: the only process facing the internet. It runs the shared internal
/// listener (mutual TLS, allow-list, health, readiness, metrics) and, when `RAMPART_PUBLIC_PORT`
/// is set, the public edge: TLS termination, routing by `{tenant}.{region}.{base-domain}`, edge
/// authentication, rate limits and the WAF (``ShieldInspection``), size and time limits, security
/// headers, proxying and the access log (see docs/gateway.md, docs/gateway-waf.md, docs/rate-limits.md).
public enum GatewayService {
    /// Runs the `rampart-gateway` process from a synchronous `main`. NIO's event loops become
    /// Swift's global executor before any task exists (from an `async` `main` the install comes
    /// too late to take effect), so the responder, the upstream pool and the channels they drive
    /// share the event loops' threads instead of handing every request between two thread pools.
    public static func runProcess() -> Never {
        let installed = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        Task.detached {
            await ServiceMain.run(.gateway) { config in
                // Checked, not assumed: this task itself runs on one of the event loops.
                let onEventLoops = installed && MultiThreadedEventLoopGroup.currentEventLoop != nil
                Logger(label: "rampart-gateway").info("gateway.executor", metadata: [
                    "executor": "\(onEventLoops ? "nio-event-loops" : "swift-global-pool")",
                ])
                return try await buildApplication(config)
            }
        }
        dispatchMain()
    }

    /// Prepares the runtime and builds the application (internal listener plus public edge);
    /// `accessLog` is where the edge's access lines go (standard output in batches unless a test
    /// captures them).
    public static func buildApplication(_ config: ServiceConfig, accessLog: AccessLog? = nil) async throws -> some ApplicationProtocol {
        let runtime = try await ServiceRuntime.prepare(config: config, migrations: [])
        guard let settings = try EdgeSettings.load(config) else { return try ServiceApplication.build(runtime: runtime) }
        let edge = try EdgeServer.services(settings: settings, runtime: runtime, accessLog: accessLog ?? .batched)
        // First, so that it stops last (a service group stops in reverse order), after the edge's last line.
        let flusher: [any Service] = accessLog == nil ? [AccessLogFlusher(interval: AccessLog.batchFlushInterval)] : []
        return try ServiceApplication.build(runtime: runtime, services: flusher + edge)
    }
}
