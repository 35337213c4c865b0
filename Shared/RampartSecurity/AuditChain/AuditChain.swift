import Crypto
import Foundation
import RampartCore

/// The hash chain of a tenant's audit log: `hash = SHA-256(prev_hash ‖ canonical JSON)`,
/// starting from 32 zero bytes, and the hourly checkpoints that sign its head.
public enum AuditChain {
    /// The `prev_hash` of a tenant's first event.
    public static let genesis = Data(repeating: 0, count: 32)

    /// The hash of a record following `previous`.
    public static func hash(previous: Data, canonicalJSON: String) -> Data {
        var hasher = SHA256()
        hasher.update(data: previous)
        hasher.update(data: Data(canonicalJSON.utf8))
        return Data(hasher.finalize())
    }

    /// The start of the hour `date` falls in (UTC).
    public static func hour(of date: Date) -> Date {
        Date(timeIntervalSince1970: (date.timeIntervalSince1970 / 3600).rounded(.down) * 3600)
    }

    /// JSON as audit's operator routes and `rampartctl audit verify` exchange chain data.
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}

/// A signed statement that a tenant's chain had head `seq`/`headHash` at the end of `hour`.
///
/// One is made for every tenant with a chain every hour, also for hours without events, so
/// a deleted tail or a dropped checkpoint shows as a gap. The key id names the audit service's
/// Ed25519 key (same key-file and JWKS formats as principal keys), so keys can rotate.
public struct AuditCheckpoint: Codable, Sendable, Equatable {
    public var tenantID: TenantID
    public var region: Region
    /// The start of the hour the checkpoint closes.
    public var hour: Date
    /// The chain's last sequence number (0: no event yet).
    public var seq: Int64
    public var headHash: Data
    public var keyID: String
    public var signature: Data

    enum CodingKeys: String, CodingKey {
        case region, hour, seq, signature
        case tenantID = "tenant_id"
        case headHash = "head_hash"
        case keyID = "key_id"
    }

    public init(tenantID: TenantID, region: Region, hour: Date, seq: Int64, headHash: Data, keyID: String, signature: Data) {
        self.tenantID = tenantID
        self.region = region
        self.hour = hour
        self.seq = seq
        self.headHash = headHash
        self.keyID = keyID
        self.signature = signature
    }

    /// Signs the head of `tenant`'s chain for `hour` with `key`.
    public static func sign(tenant: TenantID, region: Region, hour: Date, seq: Int64, headHash: Data, key: PrincipalSigningKey) throws -> AuditCheckpoint {
        let message = signedMessage(tenant: tenant, region: region, hour: hour, seq: seq, headHash: headHash)
        return AuditCheckpoint(tenantID: tenant, region: region, hour: hour, seq: seq, headHash: headHash,
                               keyID: key.keyID, signature: try key.key.signature(for: message))
    }

    /// Whether the signature is valid under the key `keyID` names in `keys` (never a fallback key).
    public func isValid(under keys: PrincipalKeySet) -> Bool {
        guard let key = keys.key(id: keyID) else { return false }
        return key.isValidSignature(signature, for: Self.signedMessage(tenant: tenantID, region: region, hour: hour, seq: seq, headHash: headHash))
    }

    /// The bytes signed: a domain tag, region, tenant, hour, sequence and head hash, one per line.
    static func signedMessage(tenant: TenantID, region: Region, hour: Date, seq: Int64, headHash: Data) -> Data {
        let hex = Hex.encode(headHash)
        return Data("rampart.audit.checkpoint.v1\n\(region)\n\(tenant)\n\(Int64(hour.timeIntervalSince1970))\n\(seq)\n\(hex)".utf8)
    }
}
