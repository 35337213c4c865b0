import ArgumentParser
import Crypto
import Foundation
import RampartCore
import RampartSecurity

/// `rampartctl keys …`: the principal signing key and the key-encryption key.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Create and rotate the platform's keys.",
        subcommands: [Init.self, RotateKEK.self, AddKEK.self, Rewrap.self, RetireKEK.self]
    )

    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create the principal signing key (and its JWKS) and the key-encryption key, if absent.")

        @Option(help: "Directory for principal-signing.json, principal-jwks.json and kek.json.") var dir: String

        func run() async throws {
            let created = try LocalKeys(directory: dir).ensure()
            print("keys: \(created) key file(s) created in \(dir)")
        }
    }

    /// All three steps at once, for a host where the services that unwrap keys are stopped
    /// meanwhile (Deploy/scripts/rotate-kek.sh).
    struct RotateKEK: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-kek",
            abstract: "Add a new active key-encryption key and rewrap every tenant data key under it; sealed data is untouched."
        )

        @Option(help: "The key-encryption key file.") var kekFile: String
        @Option(help: "Key store directories to rewrap (repeatable).") var keystore: [String]

        func run() async throws {
            let current = try KeyEncryptionKeys.read(kekFile)
            let rotated = current.rotated()
            // The new file (old keys kept) is written first, so a crash mid-way leaves every key unwrappable.
            try SecretFile.write(try rotated.fileContents(), to: kekFile)
            let total = try await KeyStores(directories: keystore).rewrap(from: current, to: rotated)
            try SecretFile.write(try rotated.retiringInactive().fileContents(), to: kekFile)
            print("keys: rewrapped \(total) data key(s) under \(rotated.activeID)")
        }
    }

    /// Rotation in steps, for a cluster whose services keep running (Kubernetes,
    /// Deploy/scripts/rotate-kek-kubernetes.sh): `add-kek`, services restarted with both keys,
    /// `rewrap` beside the key store, `retire-kek`, services restarted again.
    struct AddKEK: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-kek",
            abstract: "Add a new active key-encryption key to the file; the old ones stay to unwrap until `rewrap` ran."
        )

        @Option(help: "The key-encryption key file, changed in place.") var kekFile: String

        func run() async throws {
            let rotated = try KeyEncryptionKeys.read(kekFile).rotated()
            try SecretFile.write(try rotated.fileContents(), to: kekFile)
            print("keys: \(rotated.activeID) is the active key-encryption key; \(rotated.keyIDs.count - 1) older key(s) kept until the rewrap")
        }
    }

    struct Rewrap: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rewrap every tenant data key under the file's active key-encryption key, then check that none is left under another."
        )

        @Option(help: "The key-encryption key file (read only).") var kekFile: String
        @Option(help: "Key store directories to rewrap (repeatable).") var keystore: [String]

        func run() async throws {
            let keys = try KeyEncryptionKeys.read(kekFile)
            let stores = try KeyStores(directories: keystore)
            let total = try await stores.rewrap(from: keys, to: keys)
            let left = try await stores.wrappedUnderOtherKeys(than: keys.activeID)
            guard left == 0 else { throw ControlError("\(left) data key(s) are still wrapped under an older key-encryption key; run rewrap again") }
            print("keys: rewrapped \(total) data key(s) under \(keys.activeID); none is left under an older key")
        }
    }

    struct RetireKEK: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "retire-kek",
            abstract: "Remove every key-encryption key but the active one from the file (after `rewrap`)."
        )

        @Option(help: "The key-encryption key file, changed in place.") var kekFile: String
        @Option(help: "Key store directories that must hold no key under an older key-encryption key (repeatable; where reachable).")
        var keystore: [String] = []

        func run() async throws {
            let keys = try KeyEncryptionKeys.read(kekFile)
            let left = try await KeyStores(directories: keystore).wrappedUnderOtherKeys(than: keys.activeID)
            guard left == 0 else { throw ControlError("refusing: \(left) data key(s) are still wrapped under an older key-encryption key; run rewrap first") }
            try SecretFile.write(try keys.retiringInactive().fileContents(), to: kekFile)
            print("keys: only \(keys.activeID) is left in \(kekFile)")
        }
    }
}

/// The key store directories a key command works on.
struct KeyStores {
    let stores: [FileKeyStore]

    init(directories: [String]) throws {
        stores = try directories.map { try FileKeyStore(directory: URL(fileURLWithPath: $0)) }
    }

    /// Rewraps every data key (wrapped under a key of `current` or `target`) under `target`'s active key.
    func rewrap(from current: KeyEncryptionKeys, to target: KeyEncryptionKeys) async throws -> Int {
        var total = 0
        for store in stores {
            total += try await TenantKeyring(keys: current, store: store).rewrapAll(to: target)
        }
        return total
    }

    /// How many data keys are wrapped under a key-encryption key other than `activeID`.
    func wrappedUnderOtherKeys(than activeID: String) async throws -> Int {
        var count = 0
        for store in stores {
            for tenant in try await store.tenants() {
                if let wrapped = try? await store.load(tenant), wrapped.keyEncryptionKeyID != activeID { count += 1 }
            }
        }
        return count
    }
}

extension KeyEncryptionKeys {
    static func read(_ path: String) throws -> KeyEncryptionKeys {
        guard let data = FileManager.default.contents(atPath: path) else { throw ControlError("cannot read \(path)") }
        return try KeyEncryptionKeys(fileContents: data)
    }
}

/// The local key files: `principal-signing.json` (secret), `principal-jwks.json`, `kek.json`
/// (secret), `api-key-hash.key` (secret), and audit's checkpoint key `audit-checkpoint.json`
/// (secret) with its public half `audit-checkpoint-jwks.json` (for `rampartctl audit verify`).
public struct LocalKeys {
    public let directory: String

    public init(directory: String) { self.directory = directory }

    public var signingKeyPath: String { URL(fileURLWithPath: directory).appendingPathComponent("principal-signing.json").path }
    public var jwksPath: String { URL(fileURLWithPath: directory).appendingPathComponent("principal-jwks.json").path }
    public var kekPath: String { URL(fileURLWithPath: directory).appendingPathComponent("kek.json").path }
    public var apiKeyHashKeyPath: String { URL(fileURLWithPath: directory).appendingPathComponent("api-key-hash.key").path }
    public var auditSigningKeyPath: String { URL(fileURLWithPath: directory).appendingPathComponent("audit-checkpoint.json").path }
    public var auditPublicKeysPath: String { URL(fileURLWithPath: directory).appendingPathComponent("audit-checkpoint-jwks.json").path }
    /// Signs tenant purges' deletion certificates (`rampart-backup`); its public half verifies them.
    public var deletionSigningKeyPath: String { URL(fileURLWithPath: directory).appendingPathComponent("deletion-certificate.json").path }
    public var deletionPublicKeysPath: String { URL(fileURLWithPath: directory).appendingPathComponent("deletion-certificate-jwks.json").path }

    /// Creates whichever key file is missing; returns how many were created.
    @discardableResult
    public func ensure() throws -> Int {
        var created = 0
        for (secret, published) in [(signingKeyPath, jwksPath), (auditSigningKeyPath, auditPublicKeysPath), (deletionSigningKeyPath, deletionPublicKeysPath)] {
            let signingKey: PrincipalSigningKey
            if let data = FileManager.default.contents(atPath: secret) {
                signingKey = try PrincipalSigningKey(fileContents: data)
            } else {
                signingKey = .generate()
                try SecretFile.write(try signingKey.fileContents(), to: secret)
                created += 1
            }
            let jwks = String(decoding: try signingKey.publicKeySet.jwks(), as: UTF8.self)
            if SecretFile.read(published) != jwks.trimmingCharacters(in: .whitespacesAndNewlines) {
                try SecretFile.writePublic(jwks, to: published)
            }
        }
        if !FileManager.default.fileExists(atPath: apiKeyHashKeyPath) {
            let key = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
            try SecretFile.write(key.base64EncodedString() + "\n", to: apiKeyHashKeyPath)
            created += 1
        }
        if !FileManager.default.fileExists(atPath: kekPath) {
            try SecretFile.write(try KeyEncryptionKeys.generate().fileContents(), to: kekPath)
            created += 1
        }
        return created
    }
}
