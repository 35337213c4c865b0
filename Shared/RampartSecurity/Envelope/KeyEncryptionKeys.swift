import Crypto
import Foundation
import RampartCore

/// The key-encryption keys that wrap tenant data keys: one active key plus retired ones
/// still able to unwrap until every data key has been rewrapped.
///
/// Locally they live in a JSON file (`{"active": id, "keys": {id: base64}}`, mode 0600);
/// in production the same role is played by a KMS or Vault transit key (docs/encryption.md).
public struct KeyEncryptionKeys: Sendable {
    public let activeID: String
    let activeKey: SymmetricKey
    private let keys: [String: SymmetricKey]

    public init(activeID: String, keys: [String: SymmetricKey]) throws {
        guard let active = keys[activeID], keys.values.allSatisfy({ $0.bitCount == 256 }) else {
            throw EnvelopeError.malformedKeyFile
        }
        self.activeID = activeID
        self.activeKey = active
        self.keys = keys
    }

    /// A set with one new random key.
    public static func generate() -> KeyEncryptionKeys {
        KeyEncryptionKeys(adding: SymmetricKey(size: .bits256), to: [:])
    }

    private init(adding key: SymmetricKey, to existing: [String: SymmetricKey]) {
        let id = "kek-" + UUID().uuidString.lowercased().prefix(8)
        self.activeID = id
        self.activeKey = key
        self.keys = existing.merging([id: key]) { _, new in new }
    }

    private init(active: (id: String, key: SymmetricKey)) {
        self.activeID = active.id
        self.activeKey = active.key
        self.keys = [active.id: active.key]
    }

    /// This set plus a new active key; the old keys stay for unwrapping until rewrapped.
    public func rotated() -> KeyEncryptionKeys {
        KeyEncryptionKeys(adding: SymmetricKey(size: .bits256), to: keys)
    }

    /// This set without the keys other than the active one (after every data key was rewrapped).
    public func retiringInactive() -> KeyEncryptionKeys {
        KeyEncryptionKeys(active: (activeID, activeKey))
    }

    public var keyIDs: [String] { keys.keys.sorted() }

    func key(id: String) -> SymmetricKey? { keys[id] }

    private struct File: Codable {
        var active: String
        var keys: [String: String]
    }

    /// Reads the JSON key file.
    public init(fileContents data: Data) throws {
        guard let file = try? JSONDecoder().decode(File.self, from: data) else { throw EnvelopeError.malformedKeyFile }
        var keys: [String: SymmetricKey] = [:]
        for (id, encoded) in file.keys {
            guard let raw = Data(base64Encoded: encoded), raw.count == 32 else { throw EnvelopeError.malformedKeyFile }
            keys[id] = SymmetricKey(data: raw)
        }
        try self.init(activeID: file.active, keys: keys)
    }

    /// The JSON key file; a secret, written with mode 0600.
    public func fileContents() throws -> Data {
        let encoded = keys.mapValues { key in key.withUnsafeBytes { Data($0).base64EncodedString() } }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(File(active: activeID, keys: encoded))
    }
}

/// Why sealing, opening or key handling failed. None of them carries key material.
public enum EnvelopeError: Error, Equatable, Sendable {
    case malformedKeyFile
    /// The wrapped key names a key-encryption key that is not loaded.
    case unknownKeyEncryptionKey
    /// The tenant's data key was destroyed: its sealed data is gone for good.
    case tenantKeyDestroyed
    /// No data key exists for the tenant and none may be created here.
    case tenantKeyMissing
    /// The ciphertext is not ours, was altered, or belongs to another tenant, table, column or row.
    case cannotOpen
    case keyStoreFailure(String)
}
