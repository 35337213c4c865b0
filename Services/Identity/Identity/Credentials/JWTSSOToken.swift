import Crypto
import CryptoExtras
import Foundation
import RampartSecurity

/// Verifies a JWT SSO token: compact JWS, the configured algorithm only (no `none`, no HS/RS
/// confusion), no key-carrying headers (`jku`, `x5u`, `jwk`, `x5c`, `crit`), issuer and audience,
/// `iat`/`exp` at most five minutes apart, a `jti` for the replay cache.
struct JWTSSOToken {
    /// The key a configuration verifies with; built from configuration, never from the token.
    enum VerificationKey {
        case hmac(SymmetricKey)
        case rsa(_RSA.Signing.PublicKey)
        case p256(P256.Signing.PublicKey)

        init(algorithm: JWTSSOAlgorithm, publicKeyPEM: String) throws {
            switch algorithm {
            case .hs256: throw JWTSSOFailure.keyUnusable
            case .rs256: self = .rsa(try _RSA.Signing.PublicKey(pemRepresentation: publicKeyPEM))
            case .es256: self = .p256(try P256.Signing.PublicKey(pemRepresentation: publicKeyPEM))
            }
        }
    }

    /// What a verified token says.
    struct Claims: Sendable, Equatable {
        var issuer: String
        var subject: String
        var tokenID: String
        var expiresAt: Date
        var email: String?
        var name: String?
        var groups: [String]
        var multiFactor: Bool
    }

    static let maximumBytes = 8 * 1024
    static let maximumLifetime: TimeInterval = 300
    static let allowedSkew: TimeInterval = 60

    let settings: JWTSSOSettings
    let key: VerificationKey
    let now: Date

    func verify(_ token: String) throws(JWTSSOFailure) -> Claims {
        let jws: CompactJWS
        do throws(CompactJWS.Failure) {
            jws = try CompactJWS(token, maximumBytes: Self.maximumBytes)
        } catch {
            throw error == .forbiddenHeader ? .forbiddenHeader : .malformed
        }
        guard jws.algorithm == settings.algorithm.rawValue else { throw .algorithmNotAllowed }
        guard isValid(jws.signature, for: jws.signingInput) else { throw .signatureInvalid }

        let payload = jws.payload
        guard payload["iss"] as? String == settings.issuer else { throw .issuerMismatch }
        guard jws.audiences.contains(settings.audience) else { throw .audienceMismatch }
        guard let issued = jws.date("iat"), let expires = jws.date("exp"), expires > issued, expires - issued <= Self.maximumLifetime
        else { throw .lifetimeTooLong }
        guard issued <= now.timeIntervalSince1970 + Self.allowedSkew else { throw .notYetValid }
        guard expires > now.timeIntervalSince1970 - Self.allowedSkew else { throw .expired }
        guard let tokenID = payload["jti"] as? String, (1...256).contains(tokenID.utf8.count) else { throw .missingTokenID }
        let email = payload["email"] as? String
        guard let subject = (payload["sub"] as? String) ?? email, (1...512).contains(subject.utf8.count) else { throw .missingSubject }
        return Claims(issuer: settings.issuer, subject: subject, tokenID: tokenID, expiresAt: Date(timeIntervalSince1970: expires),
                      email: email, name: payload["name"] as? String, groups: (payload["groups"] as? [String]) ?? [],
                      multiFactor: jws.assertsMultiFactor)
    }

    private func isValid(_ signature: Data, for input: Data) -> Bool {
        switch key {
        case .hmac(let secret):
            return HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: input, using: secret)
        case .rsa(let publicKey):
            return publicKey.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature), for: input, padding: .insecurePKCS1v1_5)
        case .p256(let publicKey):
            guard let ecdsa = try? P256.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return publicKey.isValidSignature(ecdsa, for: input)
        }
    }
}

/// Why a JWT SSO token was refused; the raw value is the audit reason.
enum JWTSSOFailure: String, Error, Equatable {
    case malformed = "jwt_malformed"
    case forbiddenHeader = "jwt_forbidden_header"
    case algorithmNotAllowed = "jwt_algorithm_not_allowed"
    case signatureInvalid = "jwt_signature_invalid"
    case issuerMismatch = "jwt_issuer_mismatch"
    case audienceMismatch = "jwt_audience_mismatch"
    case lifetimeTooLong = "jwt_lifetime_missing_or_too_long"
    case notYetValid = "jwt_not_yet_valid"
    case expired = "jwt_expired"
    case missingTokenID = "jwt_jti_missing"
    case missingSubject = "jwt_subject_missing"
    case replayed = "jwt_replayed"
    case keyUnusable = "jwt_key_unusable"
}
