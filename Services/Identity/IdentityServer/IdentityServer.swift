import Identity
import RampartTransport

@main
struct IdentityServer {
    static func main() async {
        await ServiceMain.run(.identity) { config in try await IdentityService.buildApplication(config) }
    }
}
