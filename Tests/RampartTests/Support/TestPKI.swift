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
    }

    var caPath: String { directory.appendingPathComponent("ca.crt").path }

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
