import Backup
import RampartTransport

@main
struct BackupServer {
    static func main() async {
        await ServiceMain.run(.backup) { config in try await BackupService.buildApplication(config) }
    }
}
