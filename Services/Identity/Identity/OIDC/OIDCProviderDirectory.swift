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
    /// secret, by HTTP Basic or in the form) and returns the ID token.
    func exchange(code: String, verifier: String, redirectURI: String, settings: OIDCSettings, clientSecret: String,
                  metadata: OIDCProviderMetadata) async throws(OIDCFailure) -> String {
        var form = ["grant_type": "authorization_code", "code": code, "redirect_uri": redirectURI, "code_verifier": verifier]
        var request = HTTPClientRequest(url: metadata.tokenEndpoint)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Accept", value: "application/json")
        switch settings.clientAuthentication {
        case .clientSecretBasic:
            // RFC 6749 §2.3.1: both parts form-encoded before base64.
            let credentials = Self.formEncode(settings.clientID) + ":" + Self.formEncode(clientSecret)
            request.headers.add(name: "Authorization", value: "Basic " + Data(credentials.utf8).base64EncodedString())
        case .clientSecretPost:
            form["client_id"] = settings.clientID
            form["client_secret"] = clientSecret
        }
        request.body = .bytes(ByteBuffer(string: Self.form(form)))
        guard let (status, body) = try? await fetch(request), status == .ok,
              let json = try? JSONSerialization.jsonObject(with: body) as? [String: Any], let idToken = json["id_token"] as? String
        else { throw .tokenExchangeFailed }
        return idToken
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
        return OIDCProviderMetadata(issuer: issuer, authorizationEndpoint: authorization, tokenEndpoint: token, jwksURI: jwks)
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
