import Gateway
import RampartTransport

@main
struct GatewayServer {
    static func main() async {
        await ServiceMain.run(.gateway) { config in try await GatewayService.buildApplication(config) }
    }
}
