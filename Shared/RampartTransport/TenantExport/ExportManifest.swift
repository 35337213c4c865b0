import Crypto
import Foundation
import RampartCore
import RampartSecurity

/// The table of contents of a tenant export (`manifest.json`, the archive's second-to-last
/// member): every other file with its size and SHA-256, the tenant, region, time and format.
/// `manifest.sig` (the last member) holds the install's Ed25519 signature over the manifest's
/// exact bytes, made with the key that signs deletion certificates (`RAMPART_BACKUP_SIGNING_KEY`;
/// its public half is `.run/keys/deletion-certificate-jwks.json`): one key for everything backup
/// attests about a tenant's data, verifiable offline by anyone holding the public JWKS.
public struct ExportManifest: Codable, Sendable, Equatable {
    public static let format = "rampart.tenant-export.v1"
    public static let manifestName = "manifest.json"
    public static let signatureName = "manifest.sig"
    /// What the signature covers besides the manifest: a domain tag, so it can't pass for another signed document.
    static let signatureDomain = Data("rampart.tenant-export-manifest.v1\n".utf8)

    public struct File: Codable, Sendable, Equatable {
        public var path: String
        public var size: Int
        public var sha256: String

        public init(path: String, size: Int, sha256: String) {
            self.path = path
            self.size = size
            self.sha256 = sha256
        }
    }

    public var format = ExportManifest.format
    public var exportID: UUID
    public var tenantID: TenantID
    public var region: Region
    public var createdAt: Date
    /// Rows per entity (`tickets/messages`); the entity's parts are its files under that folder.
    public var rows: [String: Int]
    public var files: [File]

    enum CodingKeys: String, CodingKey {
        case format, region, rows, files
        case exportID = "export_id"
        case tenantID = "tenant_id"
        case createdAt = "created_at"
    }

    public init(exportID: UUID, tenantID: TenantID, region: Region, createdAt: Date, rows: [String: Int], files: [File]) {
        self.exportID = exportID
        self.tenantID = tenantID
        self.region = region
        self.createdAt = createdAt
        self.rows = rows
        self.files = files
    }

    /// The manifest's bytes (sorted keys, ISO 8601 times): what is hashed, signed and stored.
    public func canonicalJSON() throws -> Data {
        try Self.encoder.encode(self)
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }()

    /// `manifest.sig`: the key's id and the signature, base64url.
    struct Signature: Codable {
        var keyID: String
        var signature: String

        enum CodingKeys: String, CodingKey {
            case signature
            case keyID = "key_id"
        }
    }

    /// `manifest.sig` for the manifest's bytes.
    public static func signature(of manifest: Data, with key: PrincipalSigningKey) throws -> Data {
        try encoder.encode(Signature(keyID: key.keyID, signature: Base64URL.encode(try key.signature(for: signatureDomain + manifest))))
    }

    public static func hex(_ digest: SHA256.Digest) -> String {
        Hex.encode(digest)
    }

    /// Checks a downloaded (plaintext) archive: the manifest's signature under `keys`, then every
    /// member against it — each listed file present once with its size and SHA-256, nothing
    /// unlisted. Reads the archive a chunk at a time. Returns the manifest when all holds.
    public static func verify(archiveAt path: String, keys: PrincipalKeySet) throws -> ExportManifest {
        var reader = try TarReader(path: path)
        defer { reader.close() }
        var seen: [String: File] = [:]
        var manifestBytes: Data?
        var signatureBytes: Data?
        while let (name, size) = try reader.next() {
            guard seen[name] == nil, name != manifestName || manifestBytes == nil, name != signatureName || signatureBytes == nil else {
                throw ExportVerificationError.duplicate(name)
            }
            if name == manifestName || name == signatureName {
                guard size <= 64 << 20 else { throw ExportVerificationError.unlisted(name) }
                var bytes = Data()
                try reader.readBody(size: size) { bytes.append($0) }
                if name == manifestName { manifestBytes = bytes } else { signatureBytes = bytes }
                continue
            }
            var hash = SHA256()
            try reader.readBody(size: size) { hash.update(data: $0) }
            seen[name] = File(path: name, size: size, sha256: hex(hash.finalize()))
        }
        guard let manifestBytes, let signatureBytes else { throw ExportVerificationError.unsigned }
        guard let signature = try? JSONDecoder().decode(Signature.self, from: signatureBytes), let key = keys.key(id: signature.keyID),
              let raw = Base64URL.decode(signature.signature), key.isValidSignature(raw, for: signatureDomain + manifestBytes)
        else { throw ExportVerificationError.badSignature }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        guard let manifest = try? decoder.decode(ExportManifest.self, from: manifestBytes), manifest.format == format else {
            throw ExportVerificationError.badSignature
        }
        for file in manifest.files {
            guard let found = seen.removeValue(forKey: file.path) else { throw ExportVerificationError.missing(file.path) }
            guard found == file else { throw ExportVerificationError.mismatch(file.path) }
        }
        if let extra = seen.keys.sorted().first { throw ExportVerificationError.unlisted(extra) }
        return manifest
    }
}

/// Why an export archive failed verification, naming the file.
public enum ExportVerificationError: Error, Equatable, CustomStringConvertible {
    case unsigned
    case badSignature
    case missing(String)
    case mismatch(String)
    case unlisted(String)
    case duplicate(String)

    public var description: String {
        switch self {
        case .unsigned: "the archive has no manifest.json and manifest.sig"
        case .badSignature: "the manifest's signature does not verify under the given key"
        case .missing(let path): "\(path) is in the manifest but not in the archive"
        case .mismatch(let path): "\(path) does not match its size and SHA-256 in the manifest"
        case .unlisted(let path): "\(path) is in the archive but not in the manifest"
        case .duplicate(let path): "\(path) appears twice"
        }
    }
}
