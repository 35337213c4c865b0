import ArgumentParser
import Foundation
import RampartCore
import RampartSecurity
import RampartTransport

/// `rampartctl export verify`: checks a downloaded tenant export offline — the manifest's
/// Ed25519 signature under the install's public key, then every file's size and SHA-256, and
/// that nothing was added or removed.
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export", abstract: "Tenant export archives.", subcommands: [Verify.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Verify a tenant export archive's signature and every file's hash.")
        @Argument(help: "The downloaded archive (.tar).") var archive: String
        @Option(help: "The public key set (JWKS) of the install's backup signing key (.run/keys/deletion-certificate-jwks.json).") var key: String

        func run() async throws {
            guard let data = FileManager.default.contents(atPath: key), let keys = try? PrincipalKeySet(jwks: data) else {
                throw ControlError("\(key) is not a JWKS file")
            }
            do {
                let manifest = try ExportManifest.verify(archiveAt: archive, keys: keys)
                print("export: verified — tenant \(manifest.tenantID), region \(manifest.region), created \(manifest.createdAt.ISO8601Format()), "
                      + "\(manifest.files.count) files, \(manifest.rows.values.reduce(0, +)) rows")
            } catch let error as ExportVerificationError {
                throw ControlError("export: NOT verified — \(error)")
            } catch let error as TarFormat.TarError {
                throw ControlError("export: NOT verified — \(error)")
            }
        }
    }
}
