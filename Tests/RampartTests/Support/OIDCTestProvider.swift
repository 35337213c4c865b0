import Crypto
import CryptoExtras
import Foundation
import Hummingbird
import HummingbirdTLS
@testable import Identity
import NIOSSL
import RampartSecurity
import RampartWeb
import Synchronization

/// A real OpenID Connect provider on loopback, over TLS with a certificate from the test CA:
/// discovery, JWKS, an authorization endpoint that answers at once for the client's configured
/// user, and a token endpoint that checks the client secret (Basic or form, as registered), the
/// code (once), its redirect URI and the PKCE verifier, then signs an ID token with its own RSA or
/// P-256 key. Tests make it misbehave per client — another signer (`none`, HS256 keyed with the
/// public key, a key not in its JWKS) or edited claims — which is how the attack catalogue gets
/// genuinely signed hostile tokens; Rampart's verifier is never mocked.
final class OIDCTestProvider: Sendable {
    /// How the token endpoint signs the next ID tokens of a client.
    enum Signer: Sendable {
        case rs256, ps256, es256
        /// `alg: none` and no signature.
        case none
        /// HS256 keyed with the provider's RSA public key (PEM) — the classic confusion attack.
        case hs256WithPublicKey
        /// RS256 by a key the JWKS does not hold, under a `kid` the provider never published.
        case unpublishedKey
    }

    struct Client: Sendable {
        var secret: String
        var authentication: OIDCClientAuthentication = .clientSecretBasic
        /// The signed-in user's claims (`sub`, `email`, `name`, `groups`, `amr`, …).
        var user: [String: String] = [:]
        var groups: [String] = []
        var amr: [String] = []
        var signer: Signer = .rs256
        /// Edits header and claims just before signing.
        var tamper: @Sendable (inout [String: Any], inout [String: Any]) -> Void = { _, _ in }
        /// `private_key_jwt`: the client's public keys by `kid`, as read from its JWKS.
        var clientKeys: [String: _RSA.Signing.PublicKey] = [:]
        /// What UserInfo answers besides `sub` (which it takes from `userInfoSubject`, else the ID token's).
        var userInfo: [String: String] = [:]
        var userInfoGroups: [String]?
        var userInfoSubject: String?
    }

    private struct Grant {
        var clientID: String
        var redirectURI: String
        var challenge: String
        var nonce: String?
    }

    private struct State {
        var clients: [String: Client] = [:]
        var grants: [String: Grant] = [:]
        var jwksFetches = 0
        /// Access token → client id, for UserInfo.
        var accessTokens: [String: String] = [:]
        /// Client assertions' `jti`s, each accepted once.
        var assertionIDs: Set<String> = []
        /// The query of each client's last authorization request (clients are one per test, so
        /// tests running in parallel do not read each other's).
        var lastAuthorization: [String: [String: String]] = [:]
    }

    let issuer: String
    let rsaKey = try! _RSA.Signing.PrivateKey(keySize: .bits2048)
    let ecKey = P256.Signing.PrivateKey()
    let rogueKey = try! _RSA.Signing.PrivateKey(keySize: .bits2048)
    private let state = Mutex(State())

    private init(issuer: String) {
        self.issuer = issuer
    }

    var jwksFetches: Int { state.withLock { $0.jwksFetches } }
    func lastAuthorization(of clientID: String) -> [String: String]? { state.withLock { $0.lastAuthorization[clientID] } }

    func register(_ clientID: String, _ client: Client) {
        state.withLock { $0.clients[clientID] = client }
    }

    func update(_ clientID: String, _ change: (inout Client) -> Void) {
        state.withLock { state in
            guard var client = state.clients[clientID] else { return }
            change(&client)
            state.clients[clientID] = client
        }
    }

    /// Starts a provider on a free loopback port for the rest of the test process. `advertisedIssuer`
    /// changes the `issuer` its discovery document names (the mismatch attack).
    static func start(pki: TestPKI, advertisedIssuer: (@Sendable (String) -> String)? = nil) async throws -> OIDCTestProvider {
        let issued = try pki.ca.issueServer(dnsNames: ["localhost"])
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: [.certificate(try NIOSSLCertificate(bytes: Array(try issued.certificatePEM().utf8), format: .pem))],
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(issued.privateKeyPEM.utf8), format: .pem))
        )
        tls.minimumTLSVersion = .tlsv12
        let (ports, portContinuation) = AsyncStream<Int>.makeStream()
        let holder = Mutex<OIDCTestProvider?>(nil)
        let router = Router()
        router.get("/.well-known/openid-configuration") { _, _ -> Response in
            guard let provider = holder.withLock({ $0 }) else { return Response(status: .serviceUnavailable) }
            return provider.json(provider.discovery(advertisedIssuer: advertisedIssuer))
        }
        router.get("/jwks") { _, _ -> Response in
            guard let provider = holder.withLock({ $0 }) else { return Response(status: .serviceUnavailable) }
            return provider.json(provider.jwks())
        }
        router.get("/authorize") { request, _ -> Response in
            guard let provider = holder.withLock({ $0 }) else { return Response(status: .serviceUnavailable) }
            return provider.authorize(FormBody.parseQuery(request))
        }
        router.get("/userinfo") { request, _ -> Response in
            guard let provider = holder.withLock({ $0 }) else { return Response(status: .serviceUnavailable) }
            return provider.userInfo(authorization: request.headers[.authorization])
        }
        router.post("/token") { request, _ -> Response in
            guard let provider = holder.withLock({ $0 }) else { return Response(status: .serviceUnavailable) }
            let body = try await request.body.collect(upTo: 64 * 1024)
            let form = (try? FormBody.parse(String(buffer: body)))?.fields ?? [:]
            return provider.token(form, authorization: request.headers[.authorization])
        }
        let app = Application(
            router: router, server: try .tls(.http1(), tlsConfiguration: tls),
            configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "oidc-test-provider"),
            onServerRunning: { channel in portContinuation.yield(channel.localAddress?.port ?? 0) }
        )
        Task { try await app.runService() }
        for await port in ports {
            let provider = OIDCTestProvider(issuer: "https://localhost:\(port)")
            holder.withLock { $0 = provider }
            return provider
        }
        throw TestSetupError("the OIDC test provider did not start")
    }

    private func discovery(advertisedIssuer: (@Sendable (String) -> String)?) -> [String: Any] {
        [
            "issuer": advertisedIssuer?(issuer) ?? issuer, "authorization_endpoint": issuer + "/authorize", "token_endpoint": issuer + "/token",
            "jwks_uri": issuer + "/jwks", "userinfo_endpoint": issuer + "/userinfo", "end_session_endpoint": issuer + "/logout",
            "response_types_supported": ["code"], "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256", "PS256", "ES256"], "code_challenge_methods_supported": ["S256"],
        ]
    }

    private func jwks() -> [String: Any] {
        state.withLock { $0.jwksFetches += 1 }
        let rsa = try! rsaKey.publicKey.getKeyPrimitives()
        let ec = ecKey.publicKey.rawRepresentation
        return ["keys": [
            ["kty": "RSA", "kid": "rsa-1", "use": "sig", "n": Base64URL.encode(rsa.modulus), "e": Base64URL.encode(rsa.publicExponent)],
            ["kty": "EC", "kid": "ec-1", "use": "sig", "alg": "ES256", "crv": "P-256",
             "x": Base64URL.encode(ec.prefix(32)), "y": Base64URL.encode(ec.suffix(32))],
        ]]
    }

    /// Answers at once for the client's user: a code bound to client, redirect URI, challenge and nonce.
    private func authorize(_ query: [String: String]) -> Response {
        guard let clientID = query["client_id"], state.withLock({ $0.clients[clientID] }) != nil, query["response_type"] == "code",
              query["code_challenge_method"] == "S256", let challenge = query["code_challenge"], let redirectURI = query["redirect_uri"],
              query["scope"]?.split(separator: " ").contains("openid") == true
        else { return Response(status: .badRequest) }
        let code = SessionRepository.newToken()
        state.withLock { $0.lastAuthorization[clientID] = query }
        state.withLock { $0.grants[code] = Grant(clientID: clientID, redirectURI: redirectURI, challenge: challenge, nonce: query["nonce"]) }
        var location = URLComponents(string: redirectURI)!
        location.queryItems = [URLQueryItem(name: "code", value: code), URLQueryItem(name: "state", value: query["state"])]
        var response = Response(status: .found)
        response.headers[.location] = location.string
        return response
    }

    /// The code exchange: client authentication as registered, the code once, the same redirect
    /// URI, the PKCE verifier; then a signed ID token.
    private func token(_ form: [String: String], authorization: String?) -> Response {
        let code = form["code"] ?? ""
        let grant = state.withLock { $0.grants.removeValue(forKey: code) }
        var clientID = form["client_id"], secret = form["client_secret"]
        if let authorization, authorization.hasPrefix("Basic "),
           let decoded = Data(base64Encoded: String(authorization.dropFirst(6))).map({ String(decoding: $0, as: UTF8.self) }),
           let colon = decoded.firstIndex(of: ":") {
            clientID = decoded[..<colon].removingPercentEncoding
            secret = decoded[decoded.index(after: colon)...].removingPercentEncoding
        }
        guard let clientID, let client = state.withLock({ $0.clients[clientID] }) else { return json(["error": "invalid_client"], status: .unauthorized) }
        let authenticated = client.authentication == .privateKeyJWT
            ? authorization == nil && secret == nil && form["client_assertion_type"] == OIDCClientAssertion.type
                && acceptsAssertion(form["client_assertion"], clientID: clientID, keys: client.clientKeys)
            : secret == client.secret && (client.authentication == .clientSecretBasic) == (authorization != nil)
        guard authenticated else { return json(["error": "invalid_client"], status: .unauthorized) }
        guard form["grant_type"] == "authorization_code", let grant, grant.clientID == clientID, grant.redirectURI == form["redirect_uri"],
              let verifier = form["code_verifier"], PKCE.verify(verifier, challenge: grant.challenge)
        else { return json(["error": "invalid_grant"], status: .badRequest) }
        let now = Int(Date.now.timeIntervalSince1970)
        var claims: [String: Any] = ["iss": issuer, "aud": clientID, "iat": now, "exp": now + 300, "sub": client.user["sub"] ?? "subject-1"]
        for (name, value) in client.user where name != "sub" { claims[name] = value }
        if !client.groups.isEmpty { claims["groups"] = client.groups }
        if !client.amr.isEmpty { claims["amr"] = client.amr }
        if let nonce = grant.nonce { claims["nonce"] = nonce }
        let accessToken = SessionRepository.newToken()
        state.withLock { $0.accessTokens[accessToken] = clientID }
        return json(["access_token": accessToken, "token_type": "Bearer", "expires_in": 300,
                     "id_token": sign(claims, signer: client.signer, tamper: client.tamper)])
    }

    /// A `private_key_jwt` client assertion as RFC 7523 says a server checks it: RS256 under a
    /// registered `kid`, `iss` and `sub` the client, `aud` this token endpoint, unexpired, short-lived, `jti` once.
    private func acceptsAssertion(_ assertion: String?, clientID: String, keys: [String: _RSA.Signing.PublicKey]) -> Bool {
        guard let parts = assertion?.split(separator: ".", omittingEmptySubsequences: false), parts.count == 3,
              let header = Base64URL.decode(parts[0]).flatMap({ try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }),
              let claims = Base64URL.decode(parts[1]).flatMap({ try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }),
              let signature = Base64URL.decode(parts[2]), header["alg"] as? String == "RS256",
              let key = (header["kid"] as? String).flatMap({ keys[$0] }),
              key.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature),
                                   for: SHA256.hash(data: Data((parts[0] + "." + parts[1]).utf8)), padding: .insecurePKCS1v1_5),
              claims["iss"] as? String == clientID, claims["sub"] as? String == clientID, claims["aud"] as? String == issuer + "/token",
              let issued = claims["iat"] as? Int, let expires = claims["exp"] as? Int, expires > Int(Date.now.timeIntervalSince1970),
              expires - issued <= 300, let jti = claims["jti"] as? String
        else { return false }
        return state.withLock { $0.assertionIDs.insert(jti).inserted }
    }

    /// UserInfo for a Bearer access token this provider issued.
    private func userInfo(authorization: String?) -> Response {
        guard let authorization, authorization.hasPrefix("Bearer "),
              let clientID = state.withLock({ $0.accessTokens[String(authorization.dropFirst(7))] }),
              let client = state.withLock({ $0.clients[clientID] })
        else { return json(["error": "invalid_token"], status: .unauthorized) }
        var info: [String: Any] = ["sub": client.userInfoSubject ?? client.user["sub"] ?? "subject-1"]
        for (name, value) in client.userInfo { info[name] = value }
        if let groups = client.userInfoGroups { info["groups"] = groups }
        return json(info)
    }

    /// A compact JWS of `claims` by `signer`.
    func sign(_ claims: [String: Any], signer: Signer, tamper: (inout [String: Any], inout [String: Any]) -> Void = { _, _ in }) -> String {
        var header: [String: Any]
        switch signer {
        case .rs256: header = ["alg": "RS256", "kid": "rsa-1", "typ": "JWT"]
        case .ps256: header = ["alg": "PS256", "kid": "rsa-1", "typ": "JWT"]
        case .es256: header = ["alg": "ES256", "kid": "ec-1", "typ": "JWT"]
        case .none: header = ["alg": "none", "typ": "JWT"]
        case .hs256WithPublicKey: header = ["alg": "HS256", "kid": "rsa-1", "typ": "JWT"]
        case .unpublishedKey: header = ["alg": "RS256", "kid": "rogue-1", "typ": "JWT"]
        }
        var claims = claims
        tamper(&header, &claims)
        let encode = { (object: [String: Any]) in Base64URL.encode(try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) }
        let input = Data((encode(header) + "." + encode(claims)).utf8)
        let signature: Data
        switch signer {
        case .rs256: signature = try! rsaKey.signature(for: SHA256.hash(data: input), padding: .insecurePKCS1v1_5).rawRepresentation
        case .ps256: signature = try! rsaKey.signature(for: SHA256.hash(data: input), padding: .PSS).rawRepresentation
        case .es256: signature = try! ecKey.signature(for: input).rawRepresentation
        case .none: signature = Data()
        case .hs256WithPublicKey:
            signature = Data(HMAC<SHA256>.authenticationCode(for: input, using: SymmetricKey(data: Data(rsaKey.publicKey.pemRepresentation.utf8))))
        case .unpublishedKey: signature = try! rogueKey.signature(for: SHA256.hash(data: input), padding: .insecurePKCS1v1_5).rawRepresentation
        }
        return String(decoding: input, as: UTF8.self) + "." + Base64URL.encode(signature)
    }

    private func json(_ object: [String: Any], status: HTTPResponse.Status = .ok) -> Response {
        var response = Response(status: status, body: .init(byteBuffer: ByteBuffer(data: try! JSONSerialization.data(withJSONObject: object))))
        response.headers[.contentType] = "application/json"
        return response
    }
}
