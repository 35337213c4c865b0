import Crypto
import Foundation
import SwiftASN1
import X509

/// The internal certificate authority: issues each service instance and operator a certificate
/// naming its identity. `make run` creates a development CA; production brings its own.
public struct CertificateAuthority: Sendable {
    public let certificate: Certificate
    let privateKey: P256.Signing.PrivateKey

    /// A certificate with its private key, ready to be written as PEM.
    public struct IssuedCertificate: Sendable {
        public let certificate: Certificate
        public let privateKey: P256.Signing.PrivateKey

        /// The certificate in PEM.
        public func certificatePEM() throws -> String { try certificate.serializeAsPEM().pemString }
        /// The private key in PEM (PKCS#8); a secret.
        public var privateKeyPEM: String { privateKey.pemRepresentation }
    }

    /// A new self-signed CA valid for `validity` seconds.
    public static func create(commonName: String = "Rampart internal CA", validity: TimeInterval = 5 * 365 * 86400, now: Date = .now) throws -> CertificateAuthority {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName {
            OrganizationName("Rampart")
            CommonName(commonName)
        }
        let publicKey = Certificate.PublicKey(key.publicKey)
        let certificate = try sign(
            subject: name, publicKey: publicKey, issuer: name, issuerKey: key, validity: validity, now: now,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: publicKey)
            }
        )
        return CertificateAuthority(certificate: certificate, privateKey: key)
    }

    /// Loads a CA from its PEM certificate and key.
    public init(certificatePEM: String, privateKeyPEM: String) throws {
        self.certificate = try Certificate(pemEncoded: certificatePEM)
        self.privateKey = try P256.Signing.PrivateKey(pemRepresentation: privateKeyPEM)
    }

    init(certificate: Certificate, privateKey: P256.Signing.PrivateKey) {
        self.certificate = certificate
        self.privateKey = privateKey
    }

    /// The CA certificate in PEM.
    public func certificatePEM() throws -> String { try certificate.serializeAsPEM().pemString }
    /// The CA key in PEM; a secret.
    public var privateKeyPEM: String { privateKey.pemRepresentation }

    /// Issues a certificate for an internal identity, usable as TLS server and client.
    ///
    /// - Parameters:
    ///   - identity: written as the certificate's one Rampart URI SAN.
    ///   - dnsNames: host names the certificate serves (for example `localhost`).
    ///   - ipAddresses: IPv4 addresses it serves (for example 127.0.0.1).
    public func issue(
        identity: CallerIdentity, dnsNames: [String] = ["localhost"], ipAddresses: [[UInt8]] = [[127, 0, 0, 1]],
        validity: TimeInterval = 90 * 86400, now: Date = .now
    ) throws -> IssuedCertificate {
        var names: [GeneralName] = [.uniformResourceIdentifier(identity.uri)]
        names += dnsNames.map { .dnsName($0) }
        names += ipAddresses.map { .ipAddress(ASN1OctetString(contentBytes: $0[...])) }
        return try issue(commonName: identity.uri, names: names, validity: validity, now: now)
    }

    /// Issues a TLS server certificate for public host names (the gateway's edge certificate).
    public func issueServer(dnsNames: [String], validity: TimeInterval = 90 * 86400, now: Date = .now) throws -> IssuedCertificate {
        try issue(commonName: dnsNames.first ?? "rampart", names: dnsNames.map { .dnsName($0) }, validity: validity, now: now)
    }

    private func issue(commonName: String, names: [GeneralName], validity: TimeInterval, now: Date) throws -> IssuedCertificate {
        let key = P256.Signing.PrivateKey()
        let publicKey = Certificate.PublicKey(key.publicKey)
        let subject = try DistinguishedName {
            OrganizationName("Rampart")
            CommonName(String(commonName.prefix(64)))
        }
        let certificate = try Self.sign(
            subject: subject, publicKey: publicKey, issuer: self.certificate.subject, issuerKey: privateKey,
            validity: validity, now: now,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth, .clientAuth])
                SubjectAlternativeNames(names)
                SubjectKeyIdentifier(hash: publicKey)
                AuthorityKeyIdentifier(keyIdentifier: try self.certificate.extensions.subjectKeyIdentifier?.keyIdentifier)
            }
        )
        return IssuedCertificate(certificate: certificate, privateKey: key)
    }

    /// Signs a v3 certificate (ECDSA P-256, SHA-256), valid from five minutes ago for `validity` seconds.
    private static func sign(
        subject: DistinguishedName, publicKey: Certificate.PublicKey, issuer: DistinguishedName,
        issuerKey: P256.Signing.PrivateKey, validity: TimeInterval, now: Date, extensions: Certificate.Extensions
    ) throws -> Certificate {
        try Certificate(
            version: .v3,
            serialNumber: .init(),
            publicKey: publicKey,
            notValidBefore: now.addingTimeInterval(-300),
            notValidAfter: now.addingTimeInterval(validity),
            issuer: issuer,
            subject: subject,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: extensions,
            issuerPrivateKey: .init(issuerKey)
        )
    }
}
