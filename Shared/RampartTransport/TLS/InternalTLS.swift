import Foundation
import NIOSSL
import RampartCore
import RampartSecurity
import X509

/// The internal transport's TLS: TLS 1.3 only, a client certificate required from every
/// caller and verified against the internal CA alone, the same CA pinned for callees.
public struct InternalTLS: Sendable {
    public let caCertificate: NIOSSLCertificate
    public let certificateChain: [NIOSSLCertificate]
    public let privateKey: NIOSSLPrivateKey
    /// The identity this instance's own certificate names.
    public let identity: CallerIdentity

    /// Loads and checks the PEM files: readable, the certificate valid now and naming exactly
    /// one Rampart identity. Errors name the configuration key at fault.
    public init(files: ServiceConfig.TLSFiles, now: Date = .now) throws {
        do {
            caCertificate = try NIOSSLCertificate(file: files.caCertificatePath, format: .pem)
        } catch {
            throw ConfigError(key: "RAMPART_TLS_CA", reason: "is not a PEM certificate")
        }
        do {
            certificateChain = try NIOSSLCertificate.fromPEMFile(files.certificatePath)
        } catch {
            throw ConfigError(key: "RAMPART_TLS_CERT", reason: "is not a PEM certificate")
        }
        do {
            privateKey = try NIOSSLPrivateKey(file: files.privateKeyPath, format: .pem)
        } catch {
            throw ConfigError(key: "RAMPART_TLS_KEY", reason: "is not a PEM private key")
        }
        guard let leaf = certificateChain.first,
              let certificate = try? Certificate(derEncoded: try leaf.toDERBytes())
        else { throw ConfigError(key: "RAMPART_TLS_CERT", reason: "holds no certificate") }
        guard certificate.notValidAfter > now else {
            throw ConfigError(key: "RAMPART_TLS_CERT", reason: "certificate expired on \(certificate.notValidAfter.ISO8601Format())")
        }
        guard certificate.notValidBefore <= now else {
            throw ConfigError(key: "RAMPART_TLS_CERT", reason: "certificate is not valid before \(certificate.notValidBefore.ISO8601Format())")
        }
        guard let identity = CallerIdentity(certificate: certificate) else {
            throw ConfigError(key: "RAMPART_TLS_CERT", reason: "certificate names no spiffe://rampart identity")
        }
        let caParsed = try? Certificate(derEncoded: try caCertificate.toDERBytes())
        guard let caParsed, caParsed.notValidAfter > now else {
            throw ConfigError(key: "RAMPART_TLS_CA", reason: "CA certificate is expired or unreadable")
        }
        self.identity = identity
    }

    /// The server side: TLS 1.3, client certificate required and chained to the internal CA.
    public func serverConfiguration() -> TLSConfiguration {
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: certificateChain.map { .certificate($0) },
            privateKey: .privateKey(privateKey)
        )
        configuration.minimumTLSVersion = .tlsv13
        configuration.certificateVerification = .noHostnameVerification
        configuration.trustRoots = .certificates([caCertificate])
        configuration.sendCANameList = true
        return configuration
    }

    /// The client side: presents this instance's certificate and verifies the callee against
    /// the internal CA only (host name included).
    public func clientConfiguration() -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv13
        configuration.certificateVerification = .fullVerification
        configuration.trustRoots = .certificates([caCertificate])
        configuration.certificateChain = certificateChain.map { .certificate($0) }
        configuration.privateKey = .privateKey(privateKey)
        return configuration
    }
}
