import Crypto
import Foundation
import RampartCore

/// A tenant's data key, sealed by a key-encryption key; the only form a data key is stored in.
public struct WrappedDataKey: Codable, Sendable, Equatable {
    public var tenantID: TenantID
    /// The key-encryption key that sealed it.
    public var keyEncryptionKeyID: String
    /// AES-GCM combined form (nonce ‖ ciphertext ‖ tag) of the 32 raw key bytes.
    public var sealedKey: Data
    public var createdAt: Date

    /// Associated data binding the wrapped key to its tenant and KEK.
    static func associatedData(tenant: TenantID, kekID: String) -> Data {
        Data("rampart.dek.v1\u{0}\(tenant)\u{0}\(kekID)".utf8)
    }

    /// Wraps `dataKey` for `tenant` with the active key of `keys`.
    static func wrap(_ dataKey: SymmetricKey, tenant: TenantID, keys: KeyEncryptionKeys, createdAt: Date = .now) throws -> WrappedDataKey {
        let sealed = try AES.GCM.seal(
            dataKey.withUnsafeBytes { Data($0) }, using: keys.activeKey,
            authenticating: associatedData(tenant: tenant, kekID: keys.activeID)
        )
        guard let combined = sealed.combined else { throw EnvelopeError.cannotOpen }
        return WrappedDataKey(tenantID: tenant, keyEncryptionKeyID: keys.activeID, sealedKey: combined, createdAt: createdAt)
    }

    /// Unwraps with whichever key of `keys` sealed it.
    func unwrap(with keys: KeyEncryptionKeys) throws -> SymmetricKey {
        guard let kek = keys.key(id: keyEncryptionKeyID) else { throw EnvelopeError.unknownKeyEncryptionKey }
        do {
            let box = try AES.GCM.SealedBox(combined: sealedKey)
            let raw = try AES.GCM.open(box, using: kek, authenticating: Self.associatedData(tenant: tenantID, kekID: keyEncryptionKeyID))
            return SymmetricKey(data: raw)
        } catch {
            throw EnvelopeError.cannotOpen
        }
    }
}
