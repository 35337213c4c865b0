import Foundation
@testable import Gateway
@testable import Identity
import RampartCore
import RampartSecurity
import RampartTransport
import Testing

/// Single sign-on end to end through the gateway: SAML (SP-initiated login, the IdP's POST to the
/// ACS), JWT SSO and OpenID Connect (login, the provider's redirect back to the callback), each
/// ending in a session cookie that the edge then resolves.
@Suite("Gateway: SAML, JWT and OpenID Connect single sign-on through the edge")
struct SSOEdgeTests {
    static let secret = JWTSSOTests.secret

    /// A gateway of its own in front of the suite's identity instances, with room for a signed SAML
    /// response in the default body class (the shared test edge allows 4 KiB) and sign-in counters
    /// of its own. Beta's staff sign in with SAML, JWT or OpenID Connect (a provider with a
    /// certificate of the edge's test CA, which identity there trusts for OIDC).
    static let gateway = Task<(edge: EdgeFixture, port: Int, provider: OIDCTestProvider), any Error> {
        let edge = try await EdgeFixture.shared.value
        let provider = try await OIDCTestProvider.start(pki: edge.pki)
        provider.register("beta-edge", OIDCTestProvider.Client(secret: secret, user: ["sub": "oidc-olga", "email": "olga@beta.test"],
                                                               groups: ["helpdesk-agents"]))
        let endpoints: [String: Any] = ["regions": ["eu": ["identity": edge.identityEU], "us": ["identity": edge.identityUS]]]
        let policy = try EdgeFixture.policy().replacingOccurrences(of: "default: 4096", with: "default: 65536")
        let (port, _) = try await EdgeFixture.startGateway(pki: edge.pki, signingKey: .generate(), endpoints: endpoints, policy: policy,
                                                           accessLog: AccessLog(sink: .init { _ in }))
        let client = InternalClient(tls: edge.operatorTLS)
        defer { Task { try? await client.shutdown() } }
        let body: [String: Any] = [
            "saml_metadata": SAMLResponseTests.idp.metadataXML(), "group_roles": ["helpdesk-agents": "agent"],
            "jwt": ["issuer": "https://www.beta.test", "audience": "rampart-beta", "algorithm": "HS256", "shared_secret": secret],
            "oidc": ["issuer": provider.issuer, "client_id": "beta-edge", "client_secret": secret],
        ]
        let configured = try await client.send(.POST, url: edge.identityEU + "/internal/v1/operator/tenants/beta/sso/staff",
                                               body: try JSONSerialization.data(withJSONObject: body))
        guard configured.status == 200 else { throw TestSetupError("SSO configuration failed: \(String(decoding: configured.body, as: UTF8.self))") }
        return (edge, port, provider)
    }

    func host(_ port: Int) -> String { "beta.eu.localhost:\(port)" }

    /// `GET /api/v1/me` through the suite's shared edge (which verifies identity's principals).
    func me(_ edge: EdgeFixture, cookie: String) async throws -> EdgeClient.Reply {
        try await EdgeClient.request("https://beta.eu.localhost:\(edge.httpsPort)/api/v1/me", ca: edge.pki.caPath,
                                     headers: ["Cookie: __Host-rampart_session=\(cookie)"])
    }

    static func sessionCookie(_ reply: EdgeClient.Reply) -> String? {
        reply.headers["set-cookie"].flatMap { $0.hasPrefix("__Host-rampart_session=") ? String($0.dropFirst(23).prefix { $0 != ";" }) : nil }
    }

    @Test func samlSignInRunsThroughTheEdgeFromLoginToACS() async throws {
        let (edge, port, _) = try await Self.gateway.value
        let login = try await EdgeClient.request("https://\(host(port))/auth/saml/login?return_to=%2Ftickets", ca: edge.pki.caPath)
        #expect(login.status == 303, "\(login.text)")
        let location = try #require(login.headers["location"])
        let request = try SAMLRoutesTests.authnRequest(in: location)
        let idRange = try #require(request.range(of: #"ID="_[0-9a-f]{32}""#, options: .regularExpression))
        let browser = try #require(login.headers["set-cookie"].map { String($0.dropFirst("__Host-rampart_saml=".count).prefix { $0 != ";" }) })

        var spec = SAMLResponseSpec()
        spec.acsURL = "https://\(host(port))/auth/saml/acs"
        spec.audience = "https://\(host(port))/auth/saml/metadata"
        spec.inResponseTo = String(request[idRange].dropFirst(4).dropLast())
        spec.nameID = "sam-subject"
        spec.attributes = [("email", ["sam@beta.test"]), ("groups", ["helpdesk-agents"])]
        let form = OAuthWorld.form(["SAMLResponse": Data(try spec.signed(by: SAMLResponseTests.idp).utf8).base64EncodedString()])
        let acs = try await EdgeClient.request("https://\(host(port))/auth/saml/acs", method: "POST", ca: edge.pki.caPath,
                                               headers: ["Content-Type: application/x-www-form-urlencoded", "Cookie: __Host-rampart_saml=\(browser)"],
                                               body: Data(form.utf8))
        #expect(acs.status == 303, "\(acs.text)")
        #expect(acs.headers["location"] == "/tickets")
        let session = try #require(Self.sessionCookie(acs))
        let me = try await me(edge, cookie: session)
        #expect(me.status == 200, "\(me.text)")
        #expect(me.json["authentication_method"] as? String == "sso")
        #expect((me.json["user"] as? [String: Any])?["email"] as? String == "sam@beta.test")

        // The same POST again is refused with the generic page, and no session.
        let replay = try await EdgeClient.request("https://\(host(port))/auth/saml/acs", method: "POST", ca: edge.pki.caPath,
                                                  headers: ["Content-Type: application/x-www-form-urlencoded", "Cookie: __Host-rampart_saml=\(browser)"],
                                                  body: Data(form.utf8))
        #expect(replay.status == 401)
        #expect(Self.sessionCookie(replay) == nil)
    }

    @Test func jwtSignInRunsThroughTheEdgeAndReturnsOnlyToTheTenantsHost() async throws {
        let (edge, port, _) = try await Self.gateway.value
        let claims = JWTSSOTests.claims {
            $0["iss"] = "https://www.beta.test"; $0["aud"] = "rampart-beta"; $0["sub"] = "jo-site-1"; $0["email"] = "jo@beta.test"
        }
        let token = JWTSSOTests.token(header: ["alg": "HS256", "typ": "JWT"], claims: claims, sign: JWTSSOTests.hs256(Self.secret))
        let returnTo = "https://\(host(port))/tickets/9".addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        let signedIn = try await EdgeClient.request("https://\(host(port))/auth/jwt?jwt=\(token)&return_to=\(returnTo)", ca: edge.pki.caPath)
        #expect(signedIn.status == 303, "\(signedIn.text)")
        #expect(signedIn.headers["location"] == "/tickets/9")
        let me = try await me(edge, cookie: try #require(Self.sessionCookie(signedIn)))
        #expect(me.json["authentication_method"] as? String == "sso")
        #expect((me.json["user"] as? [String: Any])?["email"] as? String == "jo@beta.test")

        // Replayed jti, and an alg-none token: the same generic refusal, no session.
        let none = JWTSSOTests.token(header: ["alg": "none"], claims: JWTSSOTests.claims { $0["iss"] = "https://www.beta.test"; $0["aud"] = "rampart-beta" }) { _ in Data() }
        for refused in [token, none] {
            let reply = try await EdgeClient.request("https://\(host(port))/auth/jwt?jwt=\(refused)", ca: edge.pki.caPath)
            #expect(reply.status == 401)
            #expect(reply.text.contains("Single sign-on did not succeed"))
            #expect(Self.sessionCookie(reply) == nil)
        }
    }

    @Test func oidcSignInRunsThroughTheEdgeFromLoginToCallback() async throws {
        let (edge, port, _) = try await Self.gateway.value
        let login = try await EdgeClient.request("https://\(host(port))/auth/oidc/login?return_to=%2Ftickets%2F3", ca: edge.pki.caPath)
        #expect(login.status == 303, "\(login.text)")
        let cookie = try #require(login.headers["set-cookie"])
        #expect(cookie.hasPrefix("__Host-rampart_oidc=") && cookie.contains("SameSite=Lax") && cookie.contains("Secure") && cookie.contains("HttpOnly"))
        let browser = String(cookie.dropFirst("__Host-rampart_oidc=".count).prefix { $0 != ";" })
        // The provider answers at once and sends the browser back to the tenant's callback.
        let authorized = try await EdgeClient.request(try #require(login.headers["location"]), ca: edge.pki.caPath)
        #expect(authorized.status == 302, "\(authorized.text)")
        let callback = try #require(authorized.headers["location"])
        #expect(callback.hasPrefix("https://\(host(port))/auth/oidc/callback?"))
        let signedIn = try await EdgeClient.request(callback, ca: edge.pki.caPath, headers: ["Cookie: __Host-rampart_oidc=\(browser)"])
        #expect(signedIn.status == 303, "\(signedIn.text)")
        #expect(signedIn.headers["location"] == "/tickets/3")
        let me = try await me(edge, cookie: try #require(Self.sessionCookie(signedIn)))
        #expect(me.status == 200, "\(me.text)")
        #expect(me.json["authentication_method"] as? String == "sso")
        #expect((me.json["user"] as? [String: Any])?["email"] as? String == "olga@beta.test")

        // The same callback again, and without the browser's cookie: the generic refusal, no session.
        for headers in [["Cookie: __Host-rampart_oidc=\(browser)"], []] {
            let replay = try await EdgeClient.request(callback, ca: edge.pki.caPath, headers: headers)
            #expect(replay.status == 401)
            #expect(replay.text.contains("Single sign-on did not succeed"))
            #expect(Self.sessionCookie(replay) == nil)
        }
    }
}
