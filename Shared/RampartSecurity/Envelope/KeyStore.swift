import RampartCore

/// Where wrapped tenant data keys are kept: never inside the region databases that are backed
/// up, so destroying a key stays effective after any restore.
public protocol KeyStore: Sendable {
    /// The tenant's wrapped key; `nil` if none was created; throws `tenantKeyDestroyed` after destruction.
    func load(_ tenant: TenantID) async throws -> WrappedDataKey?
    /// Stores `key` unless one exists already; returns whichever is stored (first writer wins).
    func createIfAbsent(_ key: WrappedDataKey) async throws -> WrappedDataKey
    /// Replaces an existing wrapped key (rewrapping under a new key-encryption key).
    func replace(_ key: WrappedDataKey) async throws
    /// Destroys the tenant's key for good and remembers that it did, so it is never recreated.
    func destroy(_ tenant: TenantID) async throws
    /// Every tenant with a live key.
    func tenants() async throws -> [TenantID]
}
