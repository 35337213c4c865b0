import Crypto
import Foundation
import RampartCore
import RampartSecurity

/// The signed record of one tenant purge: what was deleted where, when the tenant's data key was
/// destroyed, who asked and why. Ids, counts and times only — it must stay readable and free of
/// personal data after the tenant's key is gone, because audit keeps it verbatim in the chain.
public struct DeletionCertificate: Codable, Sendable, Equatable {
    public var version = 1
    public var tenantID: TenantID
    public var region: Region
    public var reason: PurgeJob.Reason
    public var requestedBy: String
    public var requestedAt: Date
    public var deleted: [TenantDataDeletion]
    public var keyDestroyedAt: Date
    public var issuedAt: Date

    enum CodingKeys: String, CodingKey {
        case version, region, reason, deleted
        case tenantID = "tenant_id"
        case requestedBy = "requested_by"
        case requestedAt = "requested_at"
        case keyDestroyedAt = "key_destroyed_at"
        case issuedAt = "issued_at"
    }

    /// The certificate with its Ed25519 signature over ``signedBytes``.
    public struct Signed: Codable, Sendable, Equatable {
        public var certificate: DeletionCertificate
        public var keyID: String
        public var signature: Data

        enum CodingKeys: String, CodingKey {
            case certificate, signature
            case keyID = "key_id"
        }

        /// Whether the signature is valid under the key `keyID` names in `keys`.
        public func isValid(under keys: PrincipalKeySet) -> Bool {
            guard let key = keys.key(id: keyID), let bytes = try? certificate.signedBytes() else { return false }
            return key.isValidSignature(signature, for: bytes)
        }

        /// One line of JSON (sorted keys), as it travels to audit and into the chain.
        public func compactJSON() throws -> String {
            String(decoding: try DeletionCertificate.encoder.encode(self), as: UTF8.self)
        }

        public static func parse(_ text: String) throws -> Signed {
            try DeletionCertificate.decoder.decode(Signed.self, from: Data(text.utf8))
        }
    }

    /// A domain tag and the certificate's canonical JSON: what the signature covers.
    func signedBytes() throws -> Data {
        Data("rampart.deletion-certificate.v1\n".utf8) + (try Self.encoder.encode(self))
    }

    public func signed(with key: PrincipalSigningKey) throws -> Signed {
        Signed(certificate: self, keyID: key.keyID, signature: try key.signature(for: try signedBytes()))
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }()

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()
}
