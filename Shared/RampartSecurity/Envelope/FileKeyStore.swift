import Foundation
import RampartCore

/// A ``KeyStore`` in a directory of its own (mode 0700), outside every backed-up database.
///
/// One file per tenant (`<tenant>.key`, mode 0600). A directory an installer made group-shared
/// (set-group-ID, as `Deploy/systemd` does for identity, tickets and audit, each its own user)
/// gets files of mode 0660 instead, owned by that group. Creation is atomic across processes
/// (`link(2)` of a finished temporary file, so the first writer wins); destruction leaves a
/// `<tenant>.destroyed` marker first, then overwrites and removes the key file, so a destroyed
/// key is never silently recreated.
public struct FileKeyStore: KeyStore {
    public let directory: URL
    /// The mode of key files: owner only, or owner and the directory's group when it is shared.
    let fileMode: mode_t

    public init(directory: URL) throws {
        self.directory = directory
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw EnvelopeError.keyStoreFailure("cannot create key store directory")
        }
        var status = stat()
        guard stat(directory.path, &status) == 0 else { throw EnvelopeError.keyStoreFailure("cannot read key store directory") }
        fileMode = status.st_mode & S_ISGID != 0 ? 0o660 : 0o600
    }

    private func keyPath(_ tenant: TenantID) -> String { directory.appendingPathComponent("\(tenant).key").path }
    private func markerPath(_ tenant: TenantID) -> String { directory.appendingPathComponent("\(tenant).destroyed").path }

    public func load(_ tenant: TenantID) async throws -> WrappedDataKey? {
        if FileManager.default.fileExists(atPath: markerPath(tenant)) { throw EnvelopeError.tenantKeyDestroyed }
        guard let data = FileManager.default.contents(atPath: keyPath(tenant)) else { return nil }
        do {
            return try JSONDecoder().decode(WrappedDataKey.self, from: data)
        } catch {
            throw EnvelopeError.keyStoreFailure("unreadable key file")
        }
    }

    public func createIfAbsent(_ key: WrappedDataKey) async throws -> WrappedDataKey {
        if FileManager.default.fileExists(atPath: markerPath(key.tenantID)) { throw EnvelopeError.tenantKeyDestroyed }
        let temporary = try writeTemporary(try JSONEncoder().encode(key))
        defer { unlink(temporary) }
        if link(temporary, keyPath(key.tenantID)) == 0 { return key }
        guard errno == EEXIST, let existing = try await load(key.tenantID) else {
            throw EnvelopeError.keyStoreFailure("cannot store key file")
        }
        return existing
    }

    public func replace(_ key: WrappedDataKey) async throws {
        guard try await load(key.tenantID) != nil else { throw EnvelopeError.tenantKeyMissing }
        let temporary = try writeTemporary(try JSONEncoder().encode(key))
        guard rename(temporary, keyPath(key.tenantID)) == 0 else {
            unlink(temporary)
            throw EnvelopeError.keyStoreFailure("cannot replace key file")
        }
        // A destruction that ran between the load above and the rename (a purge during a key
        // rotation) wrote its marker first: the key this rename put back is scrubbed again.
        if FileManager.default.fileExists(atPath: markerPath(key.tenantID)) {
            try scrub(keyPath(key.tenantID))
            throw EnvelopeError.tenantKeyDestroyed
        }
    }

    public func destroy(_ tenant: TenantID) async throws {
        let marker = try writeTemporary(Data("destroyed \(Date.now.ISO8601Format())\n".utf8))
        guard rename(marker, markerPath(tenant)) == 0 else {
            unlink(marker)
            throw EnvelopeError.keyStoreFailure("cannot record key destruction")
        }
        try scrub(keyPath(tenant))
    }

    /// Overwrites the key file with zeros, flushes it and removes it.
    private func scrub(_ path: String) throws {
        if let handle = FileHandle(forUpdatingAtPath: path) {
            let size = (try? handle.seekToEnd()) ?? 0
            try? handle.seek(toOffset: 0)
            try? handle.write(contentsOf: Data(count: Int(size)))
            try? handle.synchronize()
            try? handle.close()
        }
        if unlink(path) != 0 && errno != ENOENT {
            throw EnvelopeError.keyStoreFailure("cannot remove key file")
        }
    }

    public func tenants() async throws -> [TenantID] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.compactMap { name in
            guard name.hasSuffix(".key") else { return nil }
            return TenantID(String(name.dropLast(4)))
        }.sorted { $0.description < $1.description }
    }

    /// Writes `data` to a new file (``fileMode``) in the store's directory and flushes it to disk.
    private func writeTemporary(_ data: Data) throws -> String {
        let path = directory.appendingPathComponent(".tmp-\(UUID().uuidString)").path
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, fileMode)
        guard descriptor >= 0 else { throw EnvelopeError.keyStoreFailure("cannot write key store file") }
        // The umask may have taken the group bits; a shared store's files need them.
        fchmod(descriptor, fileMode)
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        do {
            try handle.write(contentsOf: data)
            try handle.synchronize()
        } catch {
            unlink(path)
            throw EnvelopeError.keyStoreFailure("cannot write key store file")
        }
        return path
    }
}
