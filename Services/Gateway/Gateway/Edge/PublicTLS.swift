import Foundation
import NIOSSL
import RampartCore
import X509

/// The public listener's TLS: TLS 1.2 and 1.3 only; for 1.2 only ECDHE key exchange with AEAD
/// ciphers (TLS 1.3 suites are all AEAD); ALPN `h2` and `http/1.1`; the operator's certificate and key.
public struct PublicTLS: Sendable {
    public let certificateChain: [NIOSSLCertificate]
    public let privateKey: NIOSSLPrivateKey

    /// The TLS 1.2 suites offered: ECDHE (forward secrecy) with AES-GCM or ChaCha20-Poly1305.
    public static let tls12CipherSuites: [NIOTLSCipher] = [
        .TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, .TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        .TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, .TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        .TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, .TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ]

    /// Loads the PEM files; the certificate must be valid now. Errors name the key at fault.
    public init(certificatePath: String, privateKeyPath: String, now: Date = .now) throws {
        do {
            certificateChain = try NIOSSLCertificate.fromPEMFile(certificatePath)
        } catch {
            throw ConfigError(key: "RAMPART_PUBLIC_TLS_CERT", reason: "is not a PEM certificate")
        }
        do {
            privateKey = try NIOSSLPrivateKey(file: privateKeyPath, format: .pem)
        } catch {
            throw ConfigError(key: "RAMPART_PUBLIC_TLS_KEY", reason: "is not a PEM private key")
        }
        guard let leaf = certificateChain.first, let certificate = try? Certificate(derEncoded: try leaf.toDERBytes()) else {
            throw ConfigError(key: "RAMPART_PUBLIC_TLS_CERT", reason: "holds no certificate")
        }
        guard certificate.notValidBefore <= now, certificate.notValidAfter > now else {
            throw ConfigError(key: "RAMPART_PUBLIC_TLS_CERT", reason: "certificate is not valid now (expires \(certificate.notValidAfter.ISO8601Format()))")
        }
    }

    /// The server configuration of the public listener.
    public func serverConfiguration() -> TLSConfiguration {
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: certificateChain.map { .certificate($0) },
            privateKey: .privateKey(privateKey)
        )
        configuration.minimumTLSVersion = .tlsv12
        configuration.maximumTLSVersion = .tlsv13
        configuration.cipherSuiteValues = Self.tls12CipherSuites
        configuration.applicationProtocols = ["h2", "http/1.1"]
        configuration.certificateVerification = .none
        return configuration
    }
}
