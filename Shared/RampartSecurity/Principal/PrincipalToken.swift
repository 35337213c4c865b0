import Crypto
import Foundation
import RampartCore

/// The compact JWS that carries a ``Principal`` from the gateway to one service.
///
/// Deliberately narrow: one algorithm (EdDSA over Ed25519), one header shape, a key id that
/// must name a known key, an audience of exactly one service, and a lifetime of at most five
/// minutes. Anything else is refused before the payload is looked at.
public enum PrincipalToken {
    /// The `typ` header every principal token carries.
    public static let type = "rampart-principal+jwt"
    /// The issuer: identity is the only signer.
    public static let issuer = "rampart-identity"
    /// The longest lifetime a token may declare.
    public static let maximumLifetime: TimeInterval = 300
    /// Tolerated clock difference between signer and verifier.
    public static let clockSkew: TimeInterval = 5
    /// The longest token accepted, so parsing cost is bounded.
    public static let maximumLength = 8192

    struct Header: Codable, Equatable {
        var alg: String
        var typ: String
        var kid: String
    }

    struct Claims: Codable {
        var iss: String
        var aud: String
        var iat: Int64
        var exp: Int64
        var jti: String
        var sub: String
        var tenant_id: TenantID
        var tenant_slug: TenantSlug
        var region: Region
        var kind: Principal.Kind
        var roles: [String]
        var scopes: [String]
        var amr: Principal.AuthenticationMethod
        var sid: String?
        var tid: String?
        var client_id: String?
        /// The session's anti-CSRF token (session principals only).
        var csrf: String?
    }

    /// Signs `principal` for `audience`, valid for `lifetime` seconds (at most five minutes).
    public static func sign(
        _ principal: Principal, audience: ServiceName, key: PrincipalSigningKey,
        lifetime: TimeInterval = 60, now: Date = .now
    ) throws -> String {
        let issued = Int64(now.timeIntervalSince1970)
        let claims = Claims(
            iss: issuer, aud: audience.rawValue, iat: issued,
            exp: issued + Int64(min(lifetime, maximumLifetime)), jti: UUID().uuidString.lowercased(),
            sub: principal.subject, tenant_id: principal.tenantID, tenant_slug: principal.tenantSlug,
            region: principal.region, kind: principal.kind, roles: principal.roles, scopes: principal.scopes,
            amr: principal.authenticationMethod, sid: principal.sessionID, tid: principal.tokenID, client_id: principal.clientID,
            csrf: principal.csrfToken
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let header = Base64URL.encode(try encoder.encode(Header(alg: "EdDSA", typ: type, kid: key.keyID)))
        let payload = Base64URL.encode(try encoder.encode(claims))
        let signingInput = "\(header).\(payload)"
        let signature = try key.key.signature(for: Data(signingInput.utf8))
        return "\(signingInput).\(Base64URL.encode(signature))"
    }
}

/// Why a principal token was refused. The cases are for logs and tests; callers answer 401 alike.
public enum PrincipalTokenError: Error, Equatable, Sendable {
    case malformed
    case unsupportedAlgorithm
    case unknownKey
    case badSignature
    case wrongIssuer
    case wrongAudience
    case wrongRegion
    case expired
    case notYetValid
    case lifetimeTooLong
}

/// Verifies principal tokens addressed to one service in one region.
public struct PrincipalVerifier: Sendable {
    public let keys: PrincipalKeySet
    public let audience: ServiceName
    public let region: Region

    public init(keys: PrincipalKeySet, audience: ServiceName, region: Region) {
        self.keys = keys
        self.audience = audience
        self.region = region
    }

    /// The principal in `token`, or the first reason it is not acceptable.
    public func verify(_ token: String, now: Date = .now) throws(PrincipalTokenError) -> Principal {
        guard token.utf8.count <= PrincipalToken.maximumLength else { throw .malformed }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3,
              let headerData = Base64URL.decode(parts[0]),
              let payloadData = Base64URL.decode(parts[1]),
              let signature = Base64URL.decode(parts[2])
        else { throw .malformed }

        // The header must be exactly {alg, typ, kid}: no `jku`, `jwk`, `x5u`, `crit` or `none`.
        guard let headerObject = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any],
              Set(headerObject.keys) == ["alg", "typ", "kid"],
              let header = try? JSONDecoder().decode(PrincipalToken.Header.self, from: headerData)
        else { throw .malformed }
        guard header.alg == "EdDSA" else { throw .unsupportedAlgorithm }
        guard header.typ == PrincipalToken.type else { throw .malformed }
        guard let key = keys.key(id: header.kid) else { throw .unknownKey }

        let signingInput = Data(token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
        guard key.isValidSignature(signature, for: signingInput) else { throw .badSignature }

        guard let claims = try? JSONDecoder().decode(PrincipalToken.Claims.self, from: payloadData) else {
            throw .malformed
        }
        guard claims.iss == PrincipalToken.issuer else { throw .wrongIssuer }
        guard claims.aud == audience.rawValue else { throw .wrongAudience }
        guard claims.region == region else { throw .wrongRegion }
        let current = now.timeIntervalSince1970
        guard TimeInterval(claims.iat) <= current + PrincipalToken.clockSkew else { throw .notYetValid }
        guard TimeInterval(claims.exp) > current - PrincipalToken.clockSkew else { throw .expired }
        guard claims.exp > claims.iat, TimeInterval(claims.exp - claims.iat) <= PrincipalToken.maximumLifetime else {
            throw .lifetimeTooLong
        }
        return Principal(
            tenantID: claims.tenant_id, tenantSlug: claims.tenant_slug, region: claims.region,
            subject: claims.sub, kind: claims.kind, roles: claims.roles, scopes: claims.scopes,
            authenticationMethod: claims.amr, sessionID: claims.sid, tokenID: claims.tid, clientID: claims.client_id,
            csrfToken: claims.csrf
        )
    }
}
