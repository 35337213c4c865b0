import Status
import RampartTransport

@main
struct StatusServer {
    static func main() async {
        await ServiceMain.run(.status) { config in try await StatusService.buildApplication(config) }
    }
}
