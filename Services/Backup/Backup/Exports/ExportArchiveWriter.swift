import Crypto
import Foundation
import RampartCore
import RampartSecurity
import RampartTransport

/// Writes one export archive: members go into the tar as they come, each hashed for the
/// manifest, the tar into the sealed file; ``finish(region:signingKey:)`` adds the signed
/// manifest and the end of the archive.
struct ExportArchiveWriter {
    private var file: SealedArchiveFile.Writer
    private var files: [ExportManifest.File] = []
    private var rows: [String: Int] = [:]
    let tenant: TenantID
    let export: UUID
    let created: Date

    /// Bytes of the tar written so far.
    var size: Int64 { file.size }

    init(path: String, keyring: TenantKeyring, tenant: TenantID, export: UUID, created: Date) throws {
        file = try SealedArchiveFile.Writer(path: path, keyring: keyring, tenant: tenant, export: export)
        self.tenant = tenant
        self.export = export
        // Whole seconds: the manifest states the time as ISO 8601 without fractions.
        self.created = Date(timeIntervalSince1970: created.timeIntervalSince1970.rounded(.down))
    }

    /// One page of an entity's JSON Lines as its part `part` (`tickets/messages/00001.jsonl`).
    mutating func add(entity: String, part: Int, lines: Data) async throws {
        rows[entity, default: 0] += lines.reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
        try await add(path: "\(entity)/\(String(format: "%05d", part)).jsonl", content: lines)
    }

    /// One file, listed in the manifest with its size and SHA-256.
    mutating func add(path: String, content: Data) async throws {
        try await member(path, content)
        files.append(.init(path: path, size: content.count, sha256: ExportManifest.hex(SHA256.hash(data: content))))
    }

    /// Adds `manifest.json` and `manifest.sig` and seals the rest; returns the manifest's bytes.
    mutating func finish(region: Region, signingKey: PrincipalSigningKey) async throws -> Data {
        let manifest = try ExportManifest(exportID: export, tenantID: tenant, region: region, createdAt: created, rows: rows, files: files).canonicalJSON()
        try await member(ExportManifest.manifestName, manifest)
        try await member(ExportManifest.signatureName, try ExportManifest.signature(of: manifest, with: signingKey))
        try await file.write(TarFormat.end)
        try await file.finish()
        return manifest
    }

    func abandon() {
        file.abandon()
    }

    private mutating func member(_ path: String, _ content: Data) async throws {
        try await file.write(try TarFormat.header(name: path, size: content.count, modified: created))
        try await file.write(content)
        try await file.write(TarFormat.padding(after: content.count))
    }
}
