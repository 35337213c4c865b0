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
        subcommands: [Init.self, RotateKEK.self]
    )

    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create the principal signing key (and its JWKS) and the key-encryption key, if absent.")

        @Option(help: "Directory for principal-signing.json, principal-jwks.json and kek.json.") var dir: String

        func run() async throws {
            let created = try LocalKeys(directory: dir).ensure()
            print("keys: \(created) key file(s) created in \(dir)")
        }
    }

    struct RotateKEK: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-kek",
            abstract: "Add a new active key-encryption key and rewrap every tenant data key under it; sealed data is untouched."
        )

        @Option(help: "The key-encryption key file.") var kekFile: String
        @Option(help: "Key store directories to rewrap (repeatable).") var keystore: [String]

        func run() async throws {
            guard let data = FileManager.default.contents(atPath: kekFile) else { throw ControlError("cannot read \(kekFile)") }
            let current = try KeyEncryptionKeys(fileContents: data)
            let rotated = current.rotated()
            // The new file (old keys kept) is written first, so a crash mid-way leaves every key unwrappable.
            try SecretFile.write(try rotated.fileContents(), to: kekFile)
            var total = 0
            for directory in keystore {
                let keyring = TenantKeyring(keys: current, store: try FileKeyStore(directory: URL(fileURLWithPath: directory)))
                total += try await keyring.rewrapAll(to: rotated)
            }
            try SecretFile.write(try rotated.retiringInactive().fileContents(), to: kekFile)
            print("keys: rewrapped \(total) data key(s) under \(rotated.activeID)")
        }
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
