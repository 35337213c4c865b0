import Tickets
import RampartTransport

@main
struct TicketsServer {
    static func main() async {
        await ServiceMain.run(.tickets) { config in try await TicketsService.buildApplication(config) }
    }
}
