import Foundation
import RampartCore

extension TenantKeyring {
    /// The keyring a service's configuration names: the key-encryption key file and the region's
    /// key store. A missing or malformed file names its key.
    public static func load(config: ServiceConfig) throws -> TenantKeyring {
        guard let kekPath = config.keyEncryptionKeyPath else { throw ConfigError(key: "RAMPART_KEK_FILE", reason: "is required for \(config.service)") }
        guard let storePath = config.keyStorePath else { throw ConfigError(key: "RAMPART_KEYSTORE_DIR", reason: "is required for \(config.service)") }
        guard let kekData = FileManager.default.contents(atPath: kekPath), let keks = try? KeyEncryptionKeys(fileContents: kekData) else {
            throw ConfigError(key: "RAMPART_KEK_FILE", reason: "is not a key-encryption key file")
        }
        let store: FileKeyStore
        do {
            store = try FileKeyStore(directory: URL(fileURLWithPath: storePath))
        } catch {
            throw ConfigError(key: "RAMPART_KEYSTORE_DIR", reason: "cannot be created or opened")
        }
        return TenantKeyring(keys: keks, store: store)
    }
}
