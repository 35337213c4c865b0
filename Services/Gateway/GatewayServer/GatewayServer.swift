import Gateway

/// Synchronous on purpose: the gateway installs NIO's event loops as Swift's global executor
/// before any task exists (``GatewayService/runProcess()``).
@main
struct GatewayServer {
    static func main() {
        GatewayService.runProcess()
    }
}
