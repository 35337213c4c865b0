import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import Synchronization

/// What discovery says about a provider, as far as Rampart uses it. Every endpoint is `https`.
struct OIDCProviderMetadata: Sendable, Equatable {
    let issuer: String
    let authorizationEndpoint: String
    let tokenEndpoint: String
    let jwksURI: String
    /// Absent when the provider has none (or not over `https`).
    var userInfoEndpoint: String?
    /// RP-initiated logout; absent when the provider has none (or not over `https`).
    var endSessionEndpoint: String?
}

/// How Rampart proves to the token endpoint that it is the client.
enum OIDCClientCredential: Sendable {
    /// `client_secret_basic` or `client_secret_post`, as configured.
    case secret(String)
    /// `private_key_jwt`: a client assertion signed with the tenant's own key.
    case assertion(String)
}

/// What the token endpoint answered.
struct OIDCTokens: Sendable {
    var idToken: String
    var accessToken: String?
}

/// The providers' discovery documents and signing keys, fetched over HTTPS by identity and cached:
/// discovery and keys for an hour, and an unknown `kid` refetches the keys at most once a minute
/// per provider (a key rollover is picked up at once; a stream of forged `kid`s costs one fetch a
/// minute). Redirects are not followed, bodies are capped, and the discovered `issuer` must equal
/// the configured one exactly (OpenID Connect Discovery §4.3), so a document cannot name another
/// issuer's endpoints or keys.
actor OIDCProviderDirectory {
    static let cacheLifetime: TimeInterval = 3600
    static let keyRefreshInterval: TimeInterval = 60
    static let maximumDocumentBytes = 256 * 1024
    static let requestTimeout: TimeAmount = .seconds(10)

    private struct Entry {
        var metadata: OIDCProviderMetadata
        var fetchedAt: Date
        var keys: [OIDCSigningKey]
        var keysFetchedAt: Date
    }

    private let http: HTTPClient
    private var entries: [String: Entry] = [:]

    /// `trustRootsFile`: extra CA certificates (PEM) trusted besides the system's, for a provider
    /// behind a private CA (`RAMPART_OIDC_CA_FILE`).
    init(trustRootsFile: String?) {
        http = Self.client(trustRootsFile: trustRootsFile)
    }

    /// The provider's endpoints, from the cache or discovery.
    func metadata(issuer: String, now: Date = .now) async throws(OIDCFailure) -> OIDCProviderMetadata {
        try await entry(issuer: issuer, now: now).metadata
    }

    /// The provider's keys that may verify a token signed with `algorithm` under `keyID`; an
    /// unknown `kid` refreshes the key set (bounded), and none left is `unknownKey`.
    func keys(issuer: String, algorithm: OIDCAlgorithm, keyID: String?, now: Date = .now) async throws(OIDCFailure) -> [OIDCSigningKey] {
        var entry = try await entry(issuer: issuer, now: now)
        var fitting = entry.keys.filter { $0.fits(algorithm, keyID: keyID) }
        if fitting.isEmpty, now.timeIntervalSince(entry.keysFetchedAt) >= Self.keyRefreshInterval {
            entry.keys = try await fetchKeys(entry.metadata)
            entry.keysFetchedAt = now
            entries[issuer] = entry
            fitting = entry.keys.filter { $0.fits(algorithm, keyID: keyID) }
        }
        guard !fitting.isEmpty else { throw .unknownKey }
        return fitting
    }

    /// Exchanges an authorization code at the token endpoint (with the PKCE verifier and the client
    /// secret, by HTTP Basic or in the form, or a client assertion) and returns the tokens.
    func exchange(code: String, verifier: String, redirectURI: String, settings: OIDCSettings, credential: OIDCClientCredential,
                  metadata: OIDCProviderMetadata) async throws(OIDCFailure) -> OIDCTokens {
        var form = ["grant_type": "authorization_code", "code": code, "redirect_uri": redirectURI, "code_verifier": verifier]
        var request = HTTPClientRequest(url: metadata.tokenEndpoint)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Accept", value: "application/json")
        switch (settings.clientAuthentication, credential) {
        case (.clientSecretBasic, .secret(let clientSecret)):
            // RFC 6749 §2.3.1: both parts form-encoded before base64.
            let credentials = Self.formEncode(settings.clientID) + ":" + Self.formEncode(clientSecret)
            request.headers.add(name: "Authorization", value: "Basic " + Data(credentials.utf8).base64EncodedString())
        case (.clientSecretPost, .secret(let clientSecret)):
            form["client_id"] = settings.clientID
            form["client_secret"] = clientSecret
        case (.privateKeyJWT, .assertion(let assertion)):
            form["client_id"] = settings.clientID
            form["client_assertion_type"] = OIDCClientAssertion.type
            form["client_assertion"] = assertion
        default:
            throw .clientSecretUnusable
        }
        request.body = .bytes(ByteBuffer(string: Self.form(form)))
        guard let (status, body) = try? await fetch(request), status == .ok,
              let json = try? JSONSerialization.jsonObject(with: body) as? [String: Any], let idToken = json["id_token"] as? String
        else { throw .tokenExchangeFailed }
        return OIDCTokens(idToken: idToken, accessToken: json["access_token"] as? String)
    }

    /// The UserInfo response (JSON only; a signed or encrypted one is refused) for `accessToken`.
    func userInfo(accessToken: String, metadata: OIDCProviderMetadata) async throws(OIDCFailure) -> Data {
        guard let endpoint = metadata.userInfoEndpoint else { throw .userInfoFailed }
        var request = HTTPClientRequest(url: endpoint)
        request.headers.add(name: "Authorization", value: "Bearer " + accessToken)
        request.headers.add(name: "Accept", value: "application/json")
        guard let response = try? await http.execute(request, timeout: Self.requestTimeout), response.status == .ok,
              response.headers["Content-Type"].first?.lowercased().hasPrefix("application/json") == true,
              let body = try? await response.body.collect(upTo: Self.maximumDocumentBytes)
        else { throw .userInfoFailed }
        return Data(buffer: body)
    }

    private func entry(issuer: String, now: Date) async throws(OIDCFailure) -> Entry {
        if let entry = entries[issuer], now.timeIntervalSince(entry.fetchedAt) < Self.cacheLifetime { return entry }
        let metadata = try await discover(issuer: issuer)
        let entry = Entry(metadata: metadata, fetchedAt: now, keys: try await fetchKeys(metadata), keysFetchedAt: now)
        entries[issuer] = entry
        return entry
    }

    private func discover(issuer: String) async throws(OIDCFailure) -> OIDCProviderMetadata {
        let url = (issuer.hasSuffix("/") ? String(issuer.dropLast()) : issuer) + "/.well-known/openid-configuration"
        guard SSOConfiguration.isHTTPS(issuer), let (status, body) = try? await fetch(HTTPClientRequest(url: url)), status == .ok,
              let json = try? JSONSerialization.jsonObject(with: body) as? [String: Any]
        else { throw .discoveryFailed }
        guard json["issuer"] as? String == issuer else { throw .discoveryIssuerMismatch }
        guard let authorization = json["authorization_endpoint"] as? String, let token = json["token_endpoint"] as? String,
              let jwks = json["jwks_uri"] as? String, [authorization, token, jwks].allSatisfy(SSOConfiguration.isHTTPS)
        else { throw .discoveryFailed }
        // Optional endpoints count only over https; otherwise the features that need them refuse.
        let optional = { (name: String) in (json[name] as? String).flatMap { SSOConfiguration.isHTTPS($0) ? $0 : nil } }
        return OIDCProviderMetadata(issuer: issuer, authorizationEndpoint: authorization, tokenEndpoint: token, jwksURI: jwks,
                                    userInfoEndpoint: optional("userinfo_endpoint"), endSessionEndpoint: optional("end_session_endpoint"))
    }

    private func fetchKeys(_ metadata: OIDCProviderMetadata) async throws(OIDCFailure) -> [OIDCSigningKey] {
        guard let (status, body) = try? await fetch(HTTPClientRequest(url: metadata.jwksURI)), status == .ok,
              let json = try? JSONSerialization.jsonObject(with: body) as? [String: Any], let keys = json["keys"] as? [[String: Any]]
        else { throw .keysUnavailable }
        return keys.prefix(50).compactMap(OIDCSigningKey.init(jwk:))
    }

    private func fetch(_ request: HTTPClientRequest) async throws -> (HTTPResponseStatus, Data) {
        let response = try await http.execute(request, timeout: Self.requestTimeout)
        let body = try await response.body.collect(upTo: Self.maximumDocumentBytes)
        return (response.status, Data(buffer: body))
    }

    static func form(_ fields: [String: String]) -> String {
        fields.sorted { $0.key < $1.key }.map { formEncode($0.key) + "=" + formEncode($0.value) }.joined(separator: "&")
    }

    static func formEncode(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    /// One HTTP client per trust configuration for the life of the process: the directory is
    /// rebuilt whenever identity's routes are, and an AsyncHTTPClient must never be released
    /// without an explicit shutdown.
    private static let clients = Mutex<[String: HTTPClient]>([:])

    private static func client(trustRootsFile: String?) -> HTTPClient {
        clients.withLock { clients in
            if let client = clients[trustRootsFile ?? ""] { return client }
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.minimumTLSVersion = .tlsv12
            if let trustRootsFile { tls.additionalTrustRoots = [.file(trustRootsFile)] }
            let configuration = HTTPClient.Configuration(
                tlsConfiguration: tls, redirectConfiguration: .disallow,
                timeout: .init(connect: .seconds(5), read: .seconds(10)), decompression: .disabled
            )
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            clients[trustRootsFile ?? ""] = client
            return client
        }
    }
}
