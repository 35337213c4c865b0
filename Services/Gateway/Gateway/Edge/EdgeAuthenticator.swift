import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import RampartCore
import RampartTransport

/// Turns a public request's credential into a signed principal for one service by asking the
/// region's identity (`POST /internal/v1/principal`, mutual TLS), with a short cache.
public struct EdgeAuthenticator: Sendable {
    let upstreams: Upstreams
    let cache: PrincipalCache

    public init(upstreams: Upstreams, cache: PrincipalCache) {
        self.upstreams = upstreams
        self.cache = cache
    }

    /// The outcome of one resolution.
    public enum Outcome: Sendable {
        /// A principal token addressed to the route's service, for a session its anti-CSRF token,
        /// and whom it stands for (``PrincipalCache/Answer``).
        case principal(PrincipalCache.Answer)
        /// Identity refused the credential (unknown, expired, revoked, another tenant's).
        case refused
        /// Identity could not be asked.
        case unavailable
    }

    private struct ResolveRequest: Encodable {
        var tenant: String
        var credential: String?
        var session: String?
        var audience: String
        var clientIP: String?

        enum CodingKeys: String, CodingKey {
            case tenant, credential, session, audience
            case clientIP = "client_ip"
        }
    }

    private struct Resolved: Decodable {
        var principal: String
        var expiresIn: Int
        var csrfToken: String?
        var tenantID: String?
        var subject: String?

        enum CodingKeys: String, CodingKey {
            case principal, subject
            case expiresIn = "expires_in"
            case csrfToken = "csrf_token"
            case tenantID = "tenant_id"
        }
    }

    /// Forgets what is cached for `credential` at `tenant`'s host: identity has just ended or
    /// replaced that session (sign-out, password change), so it must not outlive the answer.
    public func forget(_ credential: EdgeCredential, tenant: TenantSlug, region: Region, clientIP: String?) {
        cache.forget(Self.cacheKey(credential, tenant: tenant, region: region, clientIP: clientIP))
    }

    /// A bearer credential's answer holds only for the address it was asked from: identity
    /// refuses an API key (and a token exchanged from one) outside the key's allowed networks,
    /// so an answer cached for one address must not admit the same key from another. Sessions
    /// are not bound to an address.
    static func cacheKey(_ credential: EdgeCredential, tenant: TenantSlug, region: Region, clientIP: String?) -> PrincipalCache.Key {
        switch credential {
        case .bearer(let token): PrincipalCache.Key(kind: "bearer", credential: token, host: "\(tenant).\(region) from \(clientIP ?? "-")")
        case .session(let token): PrincipalCache.Key(kind: "session", credential: token, host: "\(tenant).\(region)")
        }
    }

    /// Resolves `credential` presented at `tenant`'s host in `region` for `audience`.
    public func resolve(
        _ credential: EdgeCredential, tenant: TenantSlug, region: Region, audience: ServiceName,
        clientIP: String?, requestID: String, logger: Logger
    ) async -> Outcome {
        let (kind, value) = switch credential {
        case .bearer(let token): ("bearer", token)
        case .session(let token): ("session", token)
        }
        let key = Self.cacheKey(credential, tenant: tenant, region: region, clientIP: clientIP)
        if let answer = cache.answer(for: key, audience: audience.rawValue) { return .principal(answer) }
        guard let upstream = upstreams.regions[region], let identity = upstream.endpoints[.identity] else { return .unavailable }
        let askedAt = ContinuousClock.now

        let body = ResolveRequest(
            tenant: tenant.rawValue, credential: kind == "bearer" ? value : nil, session: kind == "session" ? value : nil,
            audience: audience.rawValue, clientIP: clientIP
        )
        let reply: InternalClient.Reply
        do {
            reply = try await upstream.client.send(
                .POST, url: identity + "/internal/v1/principal", requestID: requestID,
                body: try JSONEncoder().encode(body), maximumBodyBytes: 64 * 1024
            )
        } catch {
            logger.warning("edge.auth.identity_unreachable", metadata: ["error.type": "\(type(of: error))"])
            return .unavailable
        }
        switch reply.status {
        case 200:
            guard let resolved = try? JSONDecoder().decode(Resolved.self, from: reply.body), !resolved.principal.isEmpty else {
                logger.error("edge.auth.identity_malformed")
                return .unavailable
            }
            let answer = PrincipalCache.Answer(
                token: resolved.principal, csrf: resolved.csrfToken,
                principal: resolved.tenantID.flatMap { tenant in resolved.subject.map { "\(tenant)|\($0)" } }
            )
            // Kept no longer than the token lives, minus a margin so a cached token never arrives expired.
            cache.store(answer, lifetime: .seconds(max(0, resolved.expiresIn - 10)), for: key, audience: audience.rawValue, askedAt: askedAt)
            return .principal(answer)
        case 400, 401, 404:
            return .refused
        default:
            logger.warning("edge.auth.identity_failed", metadata: ["http.status": "\(reply.status)"])
            return .unavailable
        }
    }
}
