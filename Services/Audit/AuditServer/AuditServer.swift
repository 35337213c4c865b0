import Audit
import RampartTransport

@main
struct AuditServer {
    static func main() async {
        await ServiceMain.run(.audit) { config in try await AuditService.buildApplication(config) }
    }
}
