import Foundation
import RampartCore
import RampartSecurity

/// An export archive at rest: the tar cut into chunks of at most 1 MiB, each sealed with the
/// tenant's data key (AES-256-GCM, envelope encryption, docs/encryption.md) and bound to the
/// export, its position and whether it is the last one — so chunks cannot be reordered, moved to
/// another export or tenant, or cut off at the end without opening failing. Destroying the
/// tenant's key (a purge) makes every stored export unreadable, wherever a copy went.
///
/// Layout: the magic line, then per chunk a 4-byte big-endian length and the sealed bytes.
enum SealedArchiveFile {
    static let magic = Data("rampart-sealed-export-v1\n".utf8)
    static let chunkSize = 1 << 20

    static func context(export: UUID, index: Int, last: Bool) -> SealContext {
        SealContext(table: "tenant_exports", column: "archive", rowID: "\(export.uuidString.lowercased())/\(index)\(last ? "/last" : "")")
    }

    /// Writes plaintext as it comes, sealing each full chunk; ``finish()`` seals the rest as the last.
    struct Writer {
        let handle: FileHandle
        let keyring: TenantKeyring
        let tenant: TenantID
        let export: UUID
        private var buffer = Data()
        private var index = 0
        /// Plaintext bytes written so far.
        private(set) var size: Int64 = 0

        init(path: String, keyring: TenantKeyring, tenant: TenantID, export: UUID) throws {
            guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
                  let handle = FileHandle(forWritingAtPath: path)
            else { throw CocoaError(.fileWriteUnknown) }
            self.handle = handle
            self.keyring = keyring
            self.tenant = tenant
            self.export = export
            try handle.write(contentsOf: SealedArchiveFile.magic)
        }

        mutating func write(_ data: Data) async throws {
            buffer.append(data)
            size += Int64(data.count)
            // Keep at least one byte back: the last chunk must not be empty.
            while buffer.count > SealedArchiveFile.chunkSize {
                try await seal(buffer.prefix(SealedArchiveFile.chunkSize), last: false)
                buffer = Data(buffer.dropFirst(SealedArchiveFile.chunkSize))
            }
        }

        /// Seals the remaining bytes as the last chunk and flushes the file to disk.
        mutating func finish() async throws {
            try await seal(buffer, last: true)
            buffer = Data()
            try handle.synchronize()
            try handle.close()
        }

        func abandon() {
            try? handle.close()
        }

        private mutating func seal(_ chunk: Data, last: Bool) async throws {
            let sealed = try await keyring.seal(Data(chunk), tenant: tenant, context: SealedArchiveFile.context(export: export, index: index, last: last))
            var length = UInt32(sealed.count).bigEndian
            try handle.write(contentsOf: Data(bytes: &length, count: 4) + sealed)
            index += 1
        }
    }

    /// Opens the chunks in order; a chunk that fails to open, a missing last chunk or bytes after
    /// it are an error (``EnvelopeError/cannotOpen``).
    struct Reader {
        let handle: FileHandle
        let keyring: TenantKeyring
        let tenant: TenantID
        let export: UUID
        let fileSize: UInt64
        private var index = 0
        private var done = false

        init(path: String, keyring: TenantKeyring, tenant: TenantID, export: UUID) throws {
            guard let handle = FileHandle(forReadingAtPath: path) else { throw CocoaError(.fileReadNoSuchFile) }
            self.handle = handle
            self.keyring = keyring
            self.tenant = tenant
            self.export = export
            fileSize = try handle.seekToEnd()
            try handle.seek(toOffset: 0)
            guard try handle.read(upToCount: SealedArchiveFile.magic.count) == SealedArchiveFile.magic else {
                try? handle.close()
                throw EnvelopeError.cannotOpen
            }
        }

        /// The next chunk's plaintext; `nil` after the last.
        mutating func next() async throws -> Data? {
            guard !done else { return nil }
            guard let header = try handle.read(upToCount: 4), header.count == 4 else { throw EnvelopeError.cannotOpen }
            let length = header.reduce(0) { $0 << 8 | Int($1) }
            guard length <= SealedArchiveFile.chunkSize + 64, let sealed = try handle.read(upToCount: length), sealed.count == length else {
                throw EnvelopeError.cannotOpen
            }
            let last = try handle.offset() == fileSize
            let plain = try await keyring.open(sealed, tenant: tenant, context: SealedArchiveFile.context(export: export, index: index, last: last))
            index += 1
            done = last
            if done { try? handle.close() }
            return plain
        }

        func close() {
            try? handle.close()
        }
    }
}
