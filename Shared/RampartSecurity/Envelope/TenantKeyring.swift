import Crypto
import Foundation
import RampartCore

/// Seals and opens tenant data with AES-256-GCM under the tenant's own data key.
///
/// Every ciphertext is bound to tenant, table, column and row as associated data, so a value
/// copied to another row or tenant fails to open. Unwrapped data keys are cached in memory for
/// `cacheLifetime` at most, which bounds how long another process may keep using a key that
/// was destroyed (this process forgets it at once).
public actor TenantKeyring {
    private var keys: KeyEncryptionKeys
    private let store: any KeyStore
    private let cacheLifetime: Duration
    private var cache: [TenantID: (key: SymmetricKey, loaded: ContinuousClock.Instant)] = [:]

    /// The format version byte that starts every sealed value.
    static let formatVersion: UInt8 = 1

    public init(keys: KeyEncryptionKeys, store: any KeyStore, cacheLifetime: Duration = .seconds(30)) {
        self.keys = keys
        self.store = store
        self.cacheLifetime = cacheLifetime
    }

    /// Creates the tenant's data key if it has none (idempotent; safe across processes).
    public func provision(_ tenant: TenantID) async throws {
        _ = try await dataKey(for: tenant, create: true)
    }

    /// Seals `plaintext` for one field of one row of one tenant.
    public func seal(_ plaintext: Data, tenant: TenantID, context: SealContext) async throws -> Data {
        let key = try await dataKey(for: tenant, create: true)
        let box = try AES.GCM.seal(plaintext, using: key, authenticating: context.associatedData(tenant: tenant))
        guard let combined = box.combined else { throw EnvelopeError.cannotOpen }
        return Data([Self.formatVersion]) + combined
    }

    /// Opens a value sealed by ``seal(_:tenant:context:)`` for exactly the same tenant and context.
    public func open(_ sealed: Data, tenant: TenantID, context: SealContext) async throws -> Data {
        // Version byte, nonce and tag: exactly that for an empty value (a message of files only).
        guard sealed.first == Self.formatVersion, sealed.count >= 1 + 12 + 16 else { throw EnvelopeError.cannotOpen }
        let key = try await dataKey(for: tenant, create: false)
        do {
            let box = try AES.GCM.SealedBox(combined: sealed.dropFirst())
            return try AES.GCM.open(box, using: key, authenticating: context.associatedData(tenant: tenant))
        } catch {
            throw EnvelopeError.cannotOpen
        }
    }

    /// Whether the tenant has a live data key in this region's key store. Identity creates the key
    /// with the tenant, so this is how other services tell a tenant of the region that exists
    /// and was not erased from an id they were merely sent.
    public func hasLiveKey(_ tenant: TenantID) async throws -> Bool {
        do {
            _ = try await dataKey(for: tenant, create: false)
            return true
        } catch EnvelopeError.tenantKeyMissing, EnvelopeError.tenantKeyDestroyed {
            return false
        }
    }

    /// Whether the tenant's data key was destroyed (crypto-shredded), as opposed to never created.
    public func isDestroyed(_ tenant: TenantID) async throws -> Bool {
        do {
            _ = try await dataKey(for: tenant, create: false)
            return false
        } catch EnvelopeError.tenantKeyDestroyed {
            return true
        } catch EnvelopeError.tenantKeyMissing {
            return false
        }
    }

    /// Every tenant with a live key in the store.
    public func tenants() async throws -> [TenantID] {
        try await store.tenants()
    }

    /// A key for `purpose` derived (HKDF-SHA256) from the tenant's data key, for keyed hashes
    /// such as a search index: destroying the data key makes the derived key unrecoverable too.
    public func derivedKey(for tenant: TenantID, purpose: String) async throws -> SymmetricKey {
        let key = try await dataKey(for: tenant, create: true)
        return HKDF<SHA256>.deriveKey(
            inputKeyMaterial: key, salt: Data("rampart.derived.v1".utf8), info: Data("\(purpose)\u{0}\(tenant)".utf8), outputByteCount: 32
        )
    }

    /// Destroys the tenant's data key: every copy of its sealed data, backups included, is unreadable.
    public func destroy(_ tenant: TenantID) async throws {
        cache[tenant] = nil
        try await store.destroy(tenant)
    }

    /// Rewraps every data key not yet under `newKeys`' active key, without touching any sealed
    /// data. Returns how many keys were rewrapped.
    @discardableResult
    public func rewrapAll(to newKeys: KeyEncryptionKeys) async throws -> Int {
        var count = 0
        for tenant in try await store.tenants() {
            do {
                guard let wrapped = try await store.load(tenant), wrapped.keyEncryptionKeyID != newKeys.activeID else { continue }
                let dataKey = try wrapped.unwrap(with: newKeys.keyIDs.contains(wrapped.keyEncryptionKeyID) ? newKeys : keys)
                try await store.replace(try WrappedDataKey.wrap(dataKey, tenant: tenant, keys: newKeys, createdAt: wrapped.createdAt))
                count += 1
            } catch EnvelopeError.tenantKeyDestroyed {
                // Purged while the rewrap ran: nothing to rewrap, and nothing put back.
                continue
            }
        }
        keys = newKeys
        return count
    }

    private func dataKey(for tenant: TenantID, create: Bool) async throws -> SymmetricKey {
        if let cached = cache[tenant], cached.loaded.duration(to: .now) < cacheLifetime {
            return cached.key
        }
        let wrapped: WrappedDataKey
        if let existing = try await store.load(tenant) {
            wrapped = existing
        } else if create {
            let fresh = try WrappedDataKey.wrap(SymmetricKey(size: .bits256), tenant: tenant, keys: keys)
            wrapped = try await store.createIfAbsent(fresh)
        } else {
            throw EnvelopeError.tenantKeyMissing
        }
        let key = try wrapped.unwrap(with: keys)
        cache[tenant] = (key, .now)
        return key
    }
}

/// Where a sealed value lives: it opens only there.
public struct SealContext: Sendable, Hashable {
    public var table: String
    public var column: String
    public var rowID: String

    public init(table: String, column: String, rowID: String) {
        self.table = table
        self.column = column
        self.rowID = rowID
    }

    func associatedData(tenant: TenantID) -> Data {
        Data("rampart.seal.v1\u{0}\(tenant)\u{0}\(table)\u{0}\(column)\u{0}\(rowID)".utf8)
    }
}
