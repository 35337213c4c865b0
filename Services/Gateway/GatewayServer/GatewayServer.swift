import Gateway
import NIOCore
import NIOPosix
import RampartTransport

@main
struct GatewayServer {
    static func main() async {
        // Every proxied request crosses between NIO's event loops (client and upstream
        // connections) and Swift tasks (the responder) several times. Running Swift's global
        // executor on NIO's event-loop threads makes those crossings plain enqueues on the same
        // two threads instead of wake-ups of a second pool (docs/benchmarks.md, gateway section).
        // It must happen before any task is started; on failure the default pool stays.
        _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        await ServiceMain.run(.gateway) { config in try await GatewayService.buildApplication(config) }
    }
}
