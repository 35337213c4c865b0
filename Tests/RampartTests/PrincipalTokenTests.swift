import Crypto
import Foundation
import RampartCore
import RampartSecurity
import Testing

@Suite("Principal tokens")
struct PrincipalTokenTests {
    let key = PrincipalSigningKey.generate()
    let eu = Region(rawValue: "eu")!
    let principal = Principal(
        tenantID: .random(), tenantSlug: TenantSlug(rawValue: "acme")!, region: Region(rawValue: "eu")!,
        subject: "user-1", kind: .agent, roles: ["agent"], scopes: ["tickets:read"], authenticationMethod: .password
    )

    var verifier: PrincipalVerifier { PrincipalVerifier(keys: key.publicKeySet, audience: .tickets, region: eu) }

    /// Builds a token by hand with any header and claims, signed by `signer` (Ed25519) or not at all.
    func handmade(header: [String: Any], claims: [String: Any], signer: Curve25519.Signing.PrivateKey?) throws -> String {
        let h = Base64URL.encode(try JSONSerialization.data(withJSONObject: header))
        let p = Base64URL.encode(try JSONSerialization.data(withJSONObject: claims))
        let signature = try signer.map { try $0.signature(for: Data("\(h).\(p)".utf8)) } ?? Data()
        return "\(h).\(p).\(Base64URL.encode(signature))"
    }

    func claims(iat: Date = .now, lifetime: Int64 = 60, audience: String = "tickets", region: String = "eu") -> [String: Any] {
        let issued = Int64(iat.timeIntervalSince1970)
        return [
            "iss": "rampart-identity", "aud": audience, "iat": issued, "exp": issued + lifetime, "jti": "j",
            "sub": "user-1", "tenant_id": principal.tenantID.description, "tenant_slug": "acme", "region": region,
            "kind": "agent", "roles": ["agent"], "scopes": ["tickets:read"], "amr": "password",
        ]
    }

    func privateKey() throws -> Curve25519.Signing.PrivateKey {
        let file = try JSONSerialization.jsonObject(with: key.fileContents()) as? [String: String]
        return try Curve25519.Signing.PrivateKey(rawRepresentation: Base64URL.decode(file?["d"] ?? "") ?? Data())
    }

    @Test func acceptsValidTokenForItsAudienceAndRegion() throws {
        let token = try PrincipalToken.sign(principal, audience: .tickets, key: key)
        #expect(try verifier.verify(token) == principal)
    }

    @Test func handmadeTokenWithCorrectShapeIsAccepted() throws {
        // Proves the hand-built tokens below differ from a valid one only in what each test changes.
        let token = try handmade(header: ["alg": "EdDSA", "typ": PrincipalToken.type, "kid": key.keyID], claims: claims(), signer: try privateKey())
        #expect(try verifier.verify(token).subject == "user-1")
    }

    @Test func rejectsExpiredToken() throws {
        let token = try PrincipalToken.sign(principal, audience: .tickets, key: key, lifetime: 60, now: .now.addingTimeInterval(-120))
        #expect(throws: PrincipalTokenError.expired) { try verifier.verify(token) }
    }

    @Test func rejectsTokenIssuedInTheFuture() throws {
        let token = try PrincipalToken.sign(principal, audience: .tickets, key: key, now: .now.addingTimeInterval(120))
        #expect(throws: PrincipalTokenError.notYetValid) { try verifier.verify(token) }
    }

    @Test func rejectsTokenForAnotherRegion() throws {
        let other = PrincipalVerifier(keys: key.publicKeySet, audience: .tickets, region: Region(rawValue: "us")!)
        let token = try PrincipalToken.sign(principal, audience: .tickets, key: key)
        #expect(throws: PrincipalTokenError.wrongRegion) { try other.verify(token) }
    }

    @Test func rejectsTokenForAnotherService() throws {
        let token = try PrincipalToken.sign(principal, audience: .audit, key: key)
        #expect(throws: PrincipalTokenError.wrongAudience) { try verifier.verify(token) }
    }

    @Test func rejectsUnsignedAlgNoneToken() throws {
        let token = try handmade(header: ["alg": "none", "typ": PrincipalToken.type, "kid": key.keyID], claims: claims(), signer: nil)
        #expect(throws: PrincipalTokenError.unsupportedAlgorithm) { try verifier.verify(token) }
    }

    @Test func rejectsAlgorithmConfusionWithHMACOverThePublicKey() throws {
        // The classic attack: HS256 keyed with the verifier's public key bytes.
        let header = Base64URL.encode(try JSONSerialization.data(withJSONObject: ["alg": "HS256", "typ": PrincipalToken.type, "kid": key.keyID]))
        let payload = Base64URL.encode(try JSONSerialization.data(withJSONObject: claims()))
        let publicKey = try #require(key.publicKeySet.key(id: key.keyID))
        let mac = HMAC<SHA256>.authenticationCode(for: Data("\(header).\(payload)".utf8), using: SymmetricKey(data: publicKey.rawRepresentation))
        let token = "\(header).\(payload).\(Base64URL.encode(Data(mac)))"
        #expect(throws: PrincipalTokenError.unsupportedAlgorithm) { try verifier.verify(token) }
    }

    @Test func rejectsUnknownKeyIDInsteadOfFallingBack() throws {
        let token = try handmade(header: ["alg": "EdDSA", "typ": PrincipalToken.type, "kid": "someone-else"], claims: claims(), signer: try privateKey())
        #expect(throws: PrincipalTokenError.unknownKey) { try verifier.verify(token) }
    }

    @Test func rejectsTokenSignedByAnotherKeyUnderAKnownKeyID() throws {
        let token = try handmade(header: ["alg": "EdDSA", "typ": PrincipalToken.type, "kid": key.keyID], claims: claims(), signer: Curve25519.Signing.PrivateKey())
        #expect(throws: PrincipalTokenError.badSignature) { try verifier.verify(token) }
    }

    @Test func rejectsTamperedPayload() throws {
        let token = try PrincipalToken.sign(principal, audience: .tickets, key: key)
        let parts = token.split(separator: ".").map(String.init)
        var claims = try #require(try JSONSerialization.jsonObject(with: Base64URL.decode(parts[1]) ?? Data()) as? [String: Any])
        claims["roles"] = ["admin"]
        let forged = parts[0] + "." + Base64URL.encode(try JSONSerialization.data(withJSONObject: claims)) + "." + parts[2]
        #expect(throws: PrincipalTokenError.badSignature) { try verifier.verify(forged) }
    }

    @Test func rejectsLifetimeOverFiveMinutes() throws {
        let token = try handmade(header: ["alg": "EdDSA", "typ": PrincipalToken.type, "kid": key.keyID], claims: claims(lifetime: 3600), signer: try privateKey())
        #expect(throws: PrincipalTokenError.lifetimeTooLong) { try verifier.verify(token) }
    }

    @Test func rejectsHeadersThatPointAtOtherKeys() throws {
        let token = try handmade(
            header: ["alg": "EdDSA", "typ": PrincipalToken.type, "kid": key.keyID, "jku": "https://evil.test/jwks"],
            claims: claims(), signer: try privateKey()
        )
        #expect(throws: PrincipalTokenError.malformed) { try verifier.verify(token) }
    }

    @Test(arguments: ["", "a.b", "a.b.c.d", "!!.??.**", String(repeating: "a", count: 9000)])
    func rejectsMalformedTokens(_ token: String) {
        #expect(throws: PrincipalTokenError.malformed) { try verifier.verify(token) }
    }

    @Test func signingCapsLifetimeAtFiveMinutes() throws {
        let token = try PrincipalToken.sign(principal, audience: .tickets, key: key, lifetime: 86400)
        let payload = try #require(Base64URL.decode(String(token.split(separator: ".")[1])))
        let claims = try #require(try JSONSerialization.jsonObject(with: payload) as? [String: Any])
        let lifetime = (claims["exp"] as? Int ?? 0) - (claims["iat"] as? Int ?? 0)
        #expect(lifetime == 300)
    }
}
