@testable import Control
import Foundation
import RampartCore
import RampartSecurity
import Testing

/// `rampartctl keys add-kek | rewrap | retire-kek`: the key-encryption key rotated in steps while
/// services keep running (Deploy/scripts/rotate-kek-kubernetes.sh), never losing a key and never
/// putting back a destroyed one.
@Suite("Key-encryption key rotation in steps")
struct KeyRotationCommandTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rampart-rotation-\(UUID().uuidString)")
    var keystore: String { directory.appendingPathComponent("keystore").path }
    var kekFile: String { directory.appendingPathComponent("kek.json").path }
    let context = SealContext(table: "messages", column: "body", rowID: "7")

    func keys() throws -> KeyEncryptionKeys {
        try KeyEncryptionKeys(fileContents: try #require(FileManager.default.contents(atPath: kekFile)))
    }

    func keyring() throws -> TenantKeyring {
        TenantKeyring(keys: try keys(), store: try FileKeyStore(directory: URL(fileURLWithPath: keystore)))
    }

    @Test func addRewrapRetireKeepsEveryKeyOpenAndAPurgedOneGone() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try SecretFile.write(try KeyEncryptionKeys.generate().fileContents(), to: kekFile)
        let original = try keys()
        let (kept, purged) = (TenantID.random(), TenantID.random())
        let sealed = try await keyring().seal(Data("kept".utf8), tenant: kept, context: context)
        try await keyring().provision(purged)
        try await keyring().destroy(purged)

        // 1. A new active key; the old one stays, so running services open everything.
        try await KeysCommand.AddKEK.parse(["--kek-file", kekFile]).run()
        let both = try keys()
        #expect(both.activeID != original.activeID)
        #expect(Set(both.keyIDs) == Set(original.keyIDs + [both.activeID]))
        #expect(try await keyring().open(sealed, tenant: kept, context: context) == Data("kept".utf8))
        let mode = try FileManager.default.attributesOfItem(atPath: kekFile)[.posixPermissions] as? Int
        #expect(mode == 0o600)

        // Retiring before the rewrap would strand the key still wrapped under the old one.
        await #expect(throws: (any Error).self) { try await KeysCommand.RetireKEK.parse(["--kek-file", kekFile, "--keystore", keystore]).run() }
        #expect(try keys().keyIDs.count == 2)

        // 2. Rewrap: every key under the new one; the purged tenant's key is not brought back.
        try await KeysCommand.Rewrap.parse(["--kek-file", kekFile, "--keystore", keystore]).run()
        let store = try FileKeyStore(directory: URL(fileURLWithPath: keystore))
        #expect(try await store.load(kept)?.keyEncryptionKeyID == both.activeID)
        await #expect(throws: EnvelopeError.tenantKeyDestroyed) { try await store.load(purged) }
        #expect(!FileManager.default.fileExists(atPath: URL(fileURLWithPath: keystore).appendingPathComponent("\(purged).key").path))
        #expect(try await KeyStores(directories: [keystore]).wrappedUnderOtherKeys(than: both.activeID) == 0)

        // 3. Retire: only the new key is left, and it alone opens the data sealed before.
        try await KeysCommand.RetireKEK.parse(["--kek-file", kekFile, "--keystore", keystore]).run()
        #expect(try keys().keyIDs == [both.activeID])
        #expect(try await keyring().open(sealed, tenant: kept, context: context) == Data("kept".utf8))
        let retired = TenantKeyring(keys: original, store: store)
        await #expect(throws: EnvelopeError.unknownKeyEncryptionKey) { try await retired.open(sealed, tenant: kept, context: context) }
    }

    @Test func aRewrapSkipsAKeyDestroyedWhileItRuns() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let original = KeyEncryptionKeys.generate()
        let store = try FileKeyStore(directory: URL(fileURLWithPath: keystore))
        let ring = TenantKeyring(keys: original, store: store)
        let tenants = (0..<40).map { _ in TenantID.random() }
        for tenant in tenants { try await ring.provision(tenant) }
        let rotated = original.rotated()
        // Purges race the rewrap: whichever gets to a key first, a destroyed key stays destroyed.
        async let rewrapped = TenantKeyring(keys: original, store: store).rewrapAll(to: rotated)
        for tenant in tenants.prefix(20) { try await TenantKeyring(keys: original, store: store).destroy(tenant) }
        #expect(try await rewrapped <= 40)
        for tenant in tenants.prefix(20) {
            await #expect(throws: EnvelopeError.tenantKeyDestroyed) { try await store.load(tenant) }
            #expect(!FileManager.default.fileExists(atPath: URL(fileURLWithPath: keystore).appendingPathComponent("\(tenant).key").path))
        }
        for tenant in tenants.suffix(20) { #expect(try await store.load(tenant)?.keyEncryptionKeyID == rotated.activeID) }
    }
}
