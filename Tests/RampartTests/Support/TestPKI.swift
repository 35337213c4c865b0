import Foundation
import RampartCore
import RampartSecurity

/// A CA and certificates in a temporary directory, as `.run/pki/` holds them.
struct TestPKI {
    let directory: URL
    let ca: CertificateAuthority

    init(commonName: String = "Rampart test CA") throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("rampart-pki-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        ca = try CertificateAuthority.create(commonName: commonName)
        try ca.certificatePEM().write(to: directory.appendingPathComponent("ca.crt"), atomically: true, encoding: .utf8)
        try KeyEncryptionKeys.generate().fileContents().write(to: directory.appendingPathComponent("kek.json"))
        let checkpointKey = PrincipalSigningKey.generate()
        try checkpointKey.fileContents().write(to: directory.appendingPathComponent("audit-checkpoint.json"))
        try checkpointKey.publicKeySet.jwks().write(to: directory.appendingPathComponent("audit-checkpoint-jwks.json"))
    }

    var caPath: String { directory.appendingPathComponent("ca.crt").path }
    /// The installation's key-encryption keys and region key store, shared by the services of one PKI.
    var kekPath: String { directory.appendingPathComponent("kek.json").path }
    var keyStorePath: String { directory.appendingPathComponent("keystore").path }
    /// Audit's checkpoint signing key and its public JWKS.
    var auditSigningKeyPath: String { directory.appendingPathComponent("audit-checkpoint.json").path }
    var auditPublicKeysPath: String { directory.appendingPathComponent("audit-checkpoint-jwks.json").path }

    /// Issues (once per name) a certificate for `identity`; returns the certificate and key paths.
    func files(for identity: CallerIdentity, validity: TimeInterval = 86400, notBefore: Date = .now) throws -> ServiceConfig.TLSFiles {
        let name = identity.uri.replacingOccurrences(of: "spiffe://rampart/", with: "").replacingOccurrences(of: "/", with: "-") + "-\(UUID().uuidString.prefix(6))"
        let issued = try ca.issue(identity: identity, validity: validity, now: notBefore)
        let certificate = directory.appendingPathComponent("\(name).crt")
        let key = directory.appendingPathComponent("\(name).key")
        try issued.certificatePEM().write(to: certificate, atomically: true, encoding: .utf8)
        try issued.privateKeyPEM.write(to: key, atomically: true, encoding: .utf8)
        return ServiceConfig.TLSFiles(caCertificatePath: caPath, certificatePath: certificate.path, privateKeyPath: key.path)
    }
}
