import Crypto
import Foundation
@testable import Identity
import RampartCore
import RampartSecurity
import RampartStorage
import Synchronization
import Testing

/// JWT SSO: tokens signed with swift-crypto (HS256, ES256) and the `openssl` tool (RS256), and the
/// JWT attack catalogue — `alg: none`, HS/RS confusion, key-carrying headers, long lifetimes,
/// replayed `jti`, wrong audience, `return_to` off the tenant's host.
@Suite("JWT SSO: verification, the attack catalogue and sign-in", .serialized)
struct JWTSSOTests {
    static let secret = "a shared secret of well over thirty-two bytes"
    static let rsa = SAMLResponseTests.idp
    static let rsaPublicKey = String(decoding: try! SAMLTestIdP.run("/usr/bin/openssl", ["pkey", "-in", rsa.keyPath, "-pubout"]), as: UTF8.self)
    let origin = PasswordSignIn.Origin(ip: "192.0.2.30", userAgent: "tests", requestID: nil)

    static func claims(_ change: (inout [String: Any]) -> Void = { _ in }) -> [String: Any] {
        let now = Date.now.timeIntervalSince1970
        var claims: [String: Any] = [
            "iss": "https://www.acme.test", "aud": "rampart-acme", "iat": Int(now), "exp": Int(now) + 120,
            "jti": UUID().uuidString, "sub": "site-user-7", "email": "ada@acme.test", "name": "Ada", "groups": ["helpdesk-agents"],
        ]
        change(&claims)
        return claims
    }

    static func token(header: [String: Any], claims: [String: Any], sign: (Data) throws -> Data) rethrows -> String {
        let encode = { (object: [String: Any]) in Base64URL.encode(try! JSONSerialization.data(withJSONObject: object)) }
        let input = encode(header) + "." + encode(claims)
        return input + "." + Base64URL.encode(try sign(Data(input.utf8)))
    }

    static func hs256(_ secret: String) -> (Data) -> Data {
        { Data(HMAC<SHA256>.authenticationCode(for: $0, using: SymmetricKey(data: Data(secret.utf8)))) }
    }

    /// RS256 by the `openssl` tool, an implementation independent of ours.
    static func rs256(_ input: Data) throws -> Data {
        try SAMLTestIdP.run("/usr/bin/openssl", ["dgst", "-sha256", "-sign", rsa.keyPath], input: input)
    }

    func verify(_ token: String, _ settings: JWTSSOSettings, key: JWTSSOToken.VerificationKey) throws(JWTSSOFailure) -> JWTSSOToken.Claims {
        try JWTSSOToken(settings: settings, key: key, now: .now).verify(token)
    }

    let hsSettings = JWTSSOSettings(issuer: "https://www.acme.test", audience: "rampart-acme", algorithm: .hs256)
    var hsKey: JWTSSOToken.VerificationKey { .hmac(SymmetricKey(data: Data(Self.secret.utf8))) }
    var rsSettings: JWTSSOSettings { JWTSSOSettings(issuer: "https://www.acme.test", audience: "rampart-acme", algorithm: .rs256, publicKeyPEM: Self.rsaPublicKey) }

    @Test func acceptsTheConfiguredAlgorithmEachOfHS256RS256AndES256() throws {
        let claims = try verify(Self.token(header: ["alg": "HS256", "typ": "JWT"], claims: Self.claims(), sign: Self.hs256(Self.secret)), hsSettings, key: hsKey)
        #expect(claims.subject == "site-user-7" && claims.email == "ada@acme.test" && claims.groups == ["helpdesk-agents"])
        let rs = try Self.token(header: ["alg": "RS256"], claims: Self.claims(), sign: Self.rs256)
        #expect(try verify(rs, rsSettings, key: try JWTSSOToken.VerificationKey(algorithm: .rs256, publicKeyPEM: Self.rsaPublicKey)).subject == "site-user-7")
        let p256 = P256.Signing.PrivateKey()
        let es = try Self.token(header: ["alg": "ES256"], claims: Self.claims()) { try p256.signature(for: $0).rawRepresentation }
        let esSettings = JWTSSOSettings(issuer: "https://www.acme.test", audience: "rampart-acme", algorithm: .es256, publicKeyPEM: p256.publicKey.pemRepresentation)
        #expect(try verify(es, esSettings, key: try JWTSSOToken.VerificationKey(algorithm: .es256, publicKeyPEM: p256.publicKey.pemRepresentation)).subject == "site-user-7")
    }

    @Test func refusesAlgNoneAndHSRSConfusion() throws {
        let none = Self.token(header: ["alg": "none"], claims: Self.claims()) { _ in Data() }
        #expect(throws: JWTSSOFailure.algorithmNotAllowed) { try verify(none, hsSettings, key: hsKey) }
        let rsKey = try JWTSSOToken.VerificationKey(algorithm: .rs256, publicKeyPEM: Self.rsaPublicKey)
        #expect(throws: JWTSSOFailure.algorithmNotAllowed) { try verify(none, rsSettings, key: rsKey) }
        // The classic confusion: HMAC keyed with the RSA public key the attacker can read.
        let confused = Self.token(header: ["alg": "HS256"], claims: Self.claims(), sign: Self.hs256(Self.rsaPublicKey))
        #expect(throws: JWTSSOFailure.algorithmNotAllowed) { try verify(confused, rsSettings, key: rsKey) }
        // And an RS256 token where HS256 is configured.
        let rs = try Self.token(header: ["alg": "RS256"], claims: Self.claims(), sign: Self.rs256)
        #expect(throws: JWTSSOFailure.algorithmNotAllowed) { try verify(rs, hsSettings, key: hsKey) }
    }

    @Test func refusesHeadersThatCarryOrPointToKeys() throws {
        let attacker = P256.Signing.PrivateKey()
        let jwk: [String: Any] = ["kty": "EC", "crv": "P-256", "x": Base64URL.encode(attacker.publicKey.rawRepresentation.prefix(32)),
                                  "y": Base64URL.encode(attacker.publicKey.rawRepresentation.suffix(32))]
        for extra in [["jku": "https://evil.test/jwks.json"], ["x5u": "https://evil.test/cert.pem"], ["jwk": jwk], ["x5c": ["MIIB"]], ["crit": ["exp"]]] as [[String: Any]] {
            let token = Self.token(header: ["alg": "HS256"].merging(extra) { $1 }, claims: Self.claims(), sign: Self.hs256(Self.secret))
            #expect(throws: JWTSSOFailure.forbiddenHeader, "\(extra.keys)") { try verify(token, hsSettings, key: hsKey) }
        }
    }

    @Test func refusesLongLivedExpiredFutureWrongAudienceWrongIssuerAndForgedTokens() throws {
        let sign = Self.hs256(Self.secret)
        let now = Int(Date.now.timeIntervalSince1970)
        let cases: [(JWTSSOFailure, [String: Any])] = [
            (.lifetimeTooLong, Self.claims { $0["exp"] = now + 301 }),
            (.lifetimeTooLong, Self.claims { $0["iat"] = nil }),
            (.expired, Self.claims { $0["iat"] = now - 400; $0["exp"] = now - 200 }),
            (.notYetValid, Self.claims { $0["iat"] = now + 200; $0["exp"] = now + 300 }),
            (.audienceMismatch, Self.claims { $0["aud"] = "another-app" }),
            (.issuerMismatch, Self.claims { $0["iss"] = "https://evil.test" }),
            (.missingTokenID, Self.claims { $0["jti"] = nil }),
        ]
        for (failure, claims) in cases {
            #expect(throws: failure) { try verify(Self.token(header: ["alg": "HS256"], claims: claims, sign: sign), hsSettings, key: hsKey) }
        }
        let forged = Self.token(header: ["alg": "HS256"], claims: Self.claims(), sign: Self.hs256("another secret that is also long enough!"))
        #expect(throws: JWTSSOFailure.signatureInvalid) { try verify(forged, hsSettings, key: hsKey) }
        #expect(throws: JWTSSOFailure.malformed) { try verify("a.b", hsSettings, key: hsKey) }
        #expect(throws: JWTSSOFailure.malformed) { try verify(String(repeating: "a", count: 9000), hsSettings, key: hsKey) }
    }

    @Test func returnToStaysOnTheTenantsOwnHost() {
        let host = "acme.eu.localhost:8443"
        #expect(JWTRoutes.returnPath("/tickets?view=mine", host: host) == "/tickets?view=mine")
        #expect(JWTRoutes.returnPath("https://acme.eu.localhost:8443/tickets/7?x=1", host: host) == "/tickets/7?x=1")
        for hostile in ["https://evil.test/", "//evil.test/x", "https://acme.eu.localhost:8443.evil.test/", "http://acme.eu.localhost:8443/",
                        "https://user@acme.eu.localhost:8443/", "javascript:alert(1)", "https://globex.eu.localhost:8443/"] {
            #expect(JWTRoutes.returnPath(hostile, host: host) == "/", "\(hostile)")
        }
    }

    /// The tenant's SSO configurations (a keyring of their own) and a staff HS256 configuration, not yet saved.
    static func hs256Configuration(_ f: IdentityFixture, _ tenant: Tenant) throws -> (SSOConfigurationRepository, SSOConfiguration) {
        let store = try FileKeyStore(directory: FileManager.default.temporaryDirectory.appendingPathComponent("rampart-ks-\(UUID().uuidString)"))
        let configurations = SSOConfigurationRepository(database: f.database, region: tenant.region, keyring: TenantKeyring(keys: .generate(), store: store))
        var input = SAMLSignInTests.input { $0.samlMetadata = nil }
        input.jwt = .init(issuer: "https://www.acme.test", audience: "rampart-acme", algorithm: .hs256, publicKey: nil, sharedSecret: nil)
        return (configurations, try input.configuration(for: .staff).get())
    }

    @Test func signsInOnceWithASealedSecretAndRefusesTheReplayedJTI() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            let (configurations, configuration) = try Self.hs256Configuration(f, acme)
            // HS256 without a secret is refused; with one, only its sealed form is stored.
            await #expect(throws: SSOConfigurationProblems.self) {
                try await configurations.save(configuration, tenant: acme.id, actor: IdentityFixture.operatorActor, requestID: nil)
            }
            try await configurations.save(configuration, sharedSecret: Self.secret, tenant: acme.id, actor: IdentityFixture.operatorActor, requestID: nil)
            let stored = try await f.database.withTenant(acme.id) { try await $0.values("SELECT configuration::text FROM sso_configurations", as: String.self) }
            #expect(stored.count == 1 && !stored[0].contains(Self.secret) && stored[0].contains("sealed_secret"))
            #expect(try await !f.outbox(acme).contains { $0.contains(Self.secret) })

            let flow = JWTSignIn(database: f.database, region: acme.region, configurations: configurations)
            let token = Self.token(header: ["alg": "HS256"], claims: Self.claims(), sign: Self.hs256(Self.secret))
            guard case .signedIn(let user, _, _, _, let returnTo) = try await flow.finish(tenant: acme, audience: .staff, token: token, returnTo: "/t", origin: origin) else {
                Issue.record("refused"); return
            }
            #expect(user.role == .agent && returnTo == "/t")
            guard case .refused(let reason) = try await flow.finish(tenant: acme, audience: .staff, token: token, returnTo: "/", origin: origin) else {
                Issue.record("replay accepted"); return
            }
            #expect(reason == "jwt_replayed")
            let none = Self.token(header: ["alg": "none"], claims: Self.claims()) { _ in Data() }
            guard case .refused(let noneReason) = try await flow.finish(tenant: acme, audience: .staff, token: none, returnTo: "/", origin: origin) else {
                Issue.record("alg none accepted"); return
            }
            #expect(noneReason == "jwt_algorithm_not_allowed")
            let events = try await f.outbox(acme)
            #expect(events.contains { $0.contains("jwt_replayed") } && events.contains { $0.contains("jwt_algorithm_not_allowed") })
            // Nobody was created by the refusals.
            #expect(try await f.database.withTenant(acme.id) { try await $0.values("SELECT count(*)::int FROM users", as: Int.self) } == [1])
        }
    }

    @Test func aSaveKeepingTheSecretNeverWritesBackOneAConcurrentChangeReplaced() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            let (configurations, configuration) = try Self.hs256Configuration(f, acme)
            try await configurations.save(configuration, sharedSecret: Self.secret, tenant: acme.id, actor: IdentityFixture.operatorActor, requestID: nil)
            let storedSecret = { () async throws -> [String] in
                try await f.database.withTenant(acme.id) { try await $0.values("SELECT configuration->'jwt'->>'sealed_secret' FROM sso_configurations", as: String.self) }
            }
            #expect(try await storedSecret() != ["replaced-meanwhile"])

            // Another change is under way: it holds the configuration's lock and has replaced the
            // secret, not yet committed. A save that keeps the secret (none given) waits for it and
            // then keeps the new one; read before that change committed, it would write the old one back.
            let finished = SaveFinished()
            let keeping: Task<Void, any Error> = try await f.database.withTenant(acme.id) { connection in
                try await SSOConfigurationRepository.lockForChange(tenant: acme.id, audience: .staff, on: connection, logger: f.database.logger)
                try await connection.query("""
                    UPDATE sso_configurations SET configuration = jsonb_set(configuration, '{jwt,sealed_secret}', '"replaced-meanwhile"')
                    """, logger: f.database.logger)
                let keeping = Task {
                    try await configurations.save(configuration, tenant: acme.id, actor: IdentityFixture.operatorActor, requestID: nil)
                    finished.value.store(true, ordering: .relaxed)
                }
                try await Task.sleep(for: .milliseconds(500))
                let finishedEarly = finished.value.load(ordering: .relaxed)
                #expect(!finishedEarly)
                return keeping
            }
            try await keeping.value
            #expect(try await storedSecret() == ["replaced-meanwhile"])
        }
    }
}

/// Whether a save running in another task has returned.
private final class SaveFinished: Sendable {
    let value = Atomic<Bool>(false)
}
