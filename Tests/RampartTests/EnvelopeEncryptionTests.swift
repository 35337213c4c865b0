import Foundation
import Crypto
import RampartCore
import RampartSecurity
import Testing

@Suite("Envelope encryption")
struct EnvelopeEncryptionTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rampart-keys-\(UUID().uuidString)")
    let keys = KeyEncryptionKeys.generate()
    let tenant = TenantID.random()
    let context = SealContext(table: "messages", column: "body", rowID: "42")
    let secret = Data("card ending 4242, call me at +44 20 7946 0000".utf8)

    func keyring(_ keys: KeyEncryptionKeys? = nil) throws -> TenantKeyring {
        TenantKeyring(keys: keys ?? self.keys, store: try FileKeyStore(directory: directory))
    }

    @Test func sealedValueOpensInItsOwnPlaceAndHidesThePlaintext() async throws {
        let ring = try keyring()
        let sealed = try await ring.seal(secret, tenant: tenant, context: context)
        #expect(sealed.range(of: Data("4242".utf8)) == nil)
        #expect(try await ring.open(sealed, tenant: tenant, context: context) == secret)
    }

    @Test func anEmptyValueSealsAndOpensAndATruncatedOneDoesNot() async throws {
        let ring = try keyring()
        let sealed = try await ring.seal(Data(), tenant: tenant, context: context)
        #expect(sealed.count == 1 + 12 + 16)
        #expect(try await ring.open(sealed, tenant: tenant, context: context) == Data())
        await #expect(throws: EnvelopeError.cannotOpen) { try await ring.open(sealed.dropLast(), tenant: tenant, context: context) }
    }

    @Test func valueMovedToAnotherRowColumnOrTableFailsToOpen() async throws {
        let ring = try keyring()
        let sealed = try await ring.seal(secret, tenant: tenant, context: context)
        for moved in [
            SealContext(table: "messages", column: "body", rowID: "43"),
            SealContext(table: "messages", column: "subject", rowID: "42"),
            SealContext(table: "notes", column: "body", rowID: "42"),
        ] {
            await #expect(throws: EnvelopeError.cannotOpen) { try await ring.open(sealed, tenant: tenant, context: moved) }
        }
    }

    @Test func valueMovedToAnotherTenantFailsToOpen() async throws {
        let ring = try keyring()
        let other = TenantID.random()
        try await ring.provision(other)
        let sealed = try await ring.seal(secret, tenant: tenant, context: context)
        await #expect(throws: EnvelopeError.cannotOpen) { try await ring.open(sealed, tenant: other, context: context) }
    }

    @Test func derivedKeysAreStablePerTenantAndPurposeAndDieWithTheDataKey() async throws {
        let ring = try keyring()
        let search = try await ring.derivedKey(for: tenant, purpose: "tickets.search.v1")
        #expect(try await ring.derivedKey(for: tenant, purpose: "tickets.search.v1") == search)
        // Another process with the same key store derives the same key.
        #expect(try await keyring().derivedKey(for: tenant, purpose: "tickets.search.v1") == search)
        #expect(try await ring.derivedKey(for: tenant, purpose: "other") != search)
        #expect(try await ring.derivedKey(for: .random(), purpose: "tickets.search.v1") != search)
        try await ring.destroy(tenant)
        await #expect(throws: (any Error).self) { try await ring.derivedKey(for: tenant, purpose: "tickets.search.v1") }
    }

    @Test func tamperedCiphertextFailsToOpen() async throws {
        let ring = try keyring()
        var sealed = try await ring.seal(secret, tenant: tenant, context: context)
        sealed[sealed.count / 2] ^= 0x01
        await #expect(throws: EnvelopeError.cannotOpen) { try await ring.open(sealed, tenant: tenant, context: context) }
    }

    @Test func eachTenantHasItsOwnDataKeyAndTheStoreHoldsItOnlyWrapped() async throws {
        let ring = try keyring()
        let other = TenantID.random()
        try await ring.provision(tenant)
        try await ring.provision(other)
        let store = try FileKeyStore(directory: directory)
        let first = try #require(try await store.load(tenant))
        let second = try #require(try await store.load(other))
        #expect(first.sealedKey != second.sealedKey)
        #expect(first.keyEncryptionKeyID == keys.activeID)
        let attributes = try FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent("\(tenant).key").path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
    }

    /// Deploy/systemd shares one store between identity, tickets and audit (each its own user)
    /// through a set-group-ID directory; only then may the group read and write key files.
    @Test func groupSharedStoreWritesGroupReadableKeysOnly() async throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        #expect(chmod(directory.path, 0o2770) == 0)
        try await keyring().provision(tenant)
        let shared = try FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent("\(tenant).key").path)
        #expect((shared[.posixPermissions] as? Int) == 0o660)
        let other = TenantID.random()
        let privateDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("rampart-keys-\(UUID().uuidString)")
        try await TenantKeyring(keys: keys, store: try FileKeyStore(directory: privateDirectory)).provision(other)
        let owned = try FileManager.default.attributesOfItem(atPath: privateDirectory.appendingPathComponent("\(other).key").path)
        #expect((owned[.posixPermissions] as? Int) == 0o600)
    }

    @Test func rotatingTheKeyEncryptionKeyRewrapsWithoutTouchingData() async throws {
        let ring = try keyring()
        let sealed = try await ring.seal(secret, tenant: tenant, context: context)
        let before = try #require(try await FileKeyStore(directory: directory).load(tenant))
        let rotated = keys.rotated()
        #expect(try await ring.rewrapAll(to: rotated) == 1)
        let after = try #require(try await FileKeyStore(directory: directory).load(tenant))
        #expect(after.keyEncryptionKeyID == rotated.activeID)
        #expect(after.sealedKey != before.sealedKey)
        // A fresh process holding only the new key opens the old ciphertext.
        let fresh = try keyring(rotated.retiringInactive())
        #expect(try await fresh.open(sealed, tenant: tenant, context: context) == secret)
        // The retired key alone no longer unwraps anything.
        let retired = try keyring(keys)
        await #expect(throws: EnvelopeError.unknownKeyEncryptionKey) { try await retired.open(sealed, tenant: tenant, context: context) }
    }

    @Test func destroyingTheDataKeyMakesSealedDataUnreadableEverywhere() async throws {
        let ring = try keyring()
        let sealed = try await ring.seal(secret, tenant: tenant, context: context)
        try await ring.destroy(tenant)
        await #expect(throws: EnvelopeError.tenantKeyDestroyed) { try await ring.open(sealed, tenant: tenant, context: context) }
        let otherProcess = try keyring()
        await #expect(throws: EnvelopeError.tenantKeyDestroyed) { try await otherProcess.open(sealed, tenant: tenant, context: context) }
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("\(tenant).key").path))
    }

    @Test func aDestroyedKeyIsNeverSilentlyRecreated() async throws {
        let ring = try keyring()
        try await ring.provision(tenant)
        try await ring.destroy(tenant)
        await #expect(throws: EnvelopeError.tenantKeyDestroyed) { try await ring.seal(secret, tenant: tenant, context: context) }
    }

    @Test func concurrentFirstUseFromSeveralProcessesAgreesOnOneKey() async throws {
        let rings = try (0..<8).map { _ in try keyring() }
        let tenant = self.tenant, context = self.context, secret = self.secret
        let sealed = try await withThrowingTaskGroup(of: Data.self) { group in
            for ring in rings { group.addTask { try await ring.seal(secret, tenant: tenant, context: context) } }
            return try await group.reduce(into: [Data]()) { $0.append($1) }
        }
        let reader = try keyring()
        for value in sealed {
            #expect(try await reader.open(value, tenant: tenant, context: context) == secret)
        }
    }

    @Test func keyFileRoundTripsAndRejectsGarbage() throws {
        let restored = try KeyEncryptionKeys(fileContents: keys.fileContents())
        #expect(restored.activeID == keys.activeID)
        #expect(throws: EnvelopeError.malformedKeyFile) { try KeyEncryptionKeys(fileContents: Data("{\"active\":\"x\",\"keys\":{\"x\":\"c2hvcnQ=\"}}".utf8)) }
    }
}
