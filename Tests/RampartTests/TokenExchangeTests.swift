import Foundation
@testable import Identity
import RampartCore
import Testing

@Suite("Identity: short-lived tokens and the credential admin API")
struct TokenExchangeTests {
    /// The principal `credential` resolves to at acme for identity, or the refusal status.
    func principal(_ world: OAuthWorld, _ credential: String, tenant: String = "acme") async throws -> (Int, String?) {
        let answer = try await world.call(.POST, "/internal/v1/principal", body: #"{"tenant":"\#(tenant)","credential":"\#(credential)","audience":"identity","client_ip":"192.0.2.44"}"#,
                                          contentType: "application/json")
        return (answer.status, answer.json["principal"] as? String)
    }

    @Test func aSignedInUserExchangesTheSessionForANarrowerTokenOfAtMostAnHour() async throws {
        try await OAuthWorld.with { world in
            let session = [("X-CSRF-Token", world.csrf)]
            let exchange = try await world.call(.POST, "/api/v1/tokens", body: #"{"scopes":["tickets:read"],"expires_in":600}"#, contentType: "application/json",
                                                principal: world.principal, headers: session)
            #expect(exchange.status == 201, "\(exchange.json)")
            #expect(exchange.json["expires_in"] as? Int == 600)
            #expect(exchange.json["scope"] as? String == "tickets:read")
            #expect(exchange.headers.first(name: "cache-control") == "no-store")
            let token = try #require(exchange.json["access_token"] as? String)
            let (status, tokenPrincipal) = try await principal(world, token)
            #expect(status == 200)
            let me = try await world.call(.GET, "/api/v1/me", principal: try #require(tokenPrincipal))
            #expect(me.json["scopes"] as? [String] == ["tickets:read"])
            #expect(me.json["authentication_method"] as? String == "password")
            #expect((me.json["user"] as? [String: Any])?["email"] as? String == "ada@acme.test")
            // A token cannot mint tokens; it is worthless at another tenant's host.
            let chained = try await world.call(.POST, "/api/v1/tokens", body: "{}", contentType: "application/json", principal: tokenPrincipal)
            #expect(chained.status == 403)
            #expect(chained.json["code"] as? String == "exchange_not_allowed")
            #expect(try await principal(world, token, tenant: "globex").0 == 401)
            // Nor can it do what only a signed-in session may: change the password or list sessions.
            let password = try await world.call(.POST, "/api/v1/me/password", body: #"{"current_password":"\#(OAuthWorld.password)","new_password":"another long passphrase 77"}"#,
                                                contentType: "application/json", principal: tokenPrincipal)
            #expect(password.status == 403)
            #expect(try await world.call(.GET, "/api/v1/me/sessions", principal: tokenPrincipal).status == 403)

            for (body, code) in [(#"{"expires_in":7200}"#, "invalid_input"), (#"{"expires_in":10}"#, "invalid_input"),
                                 (#"{"scopes":["tickets:read","root"]}"#, "scopes_exceed_caller")] {
                let refused = try await world.call(.POST, "/api/v1/tokens", body: body, contentType: "application/json", principal: world.principal, headers: session)
                #expect(refused.status == 422, "\(body)")
                #expect(refused.json["code"] as? String == code, "\(body)")
            }
            let withoutCSRF = try await world.call(.POST, "/api/v1/tokens", body: "{}", contentType: "application/json", principal: world.principal)
            #expect(withoutCSRF.status == 403)
        }
    }

    @Test func adminsManageAPIKeysWhoseRevocationAlsoEndsTheirTokens() async throws {
        try await OAuthWorld.with { world in
            let session = [("X-CSRF-Token", world.csrf)]
            let me = try await world.call(.GET, "/api/v1/me", principal: world.principal)
            let userID = try #require((me.json["user"] as? [String: Any])?["id"] as? String)
            let created = try await world.call(.POST, "/api/v1/api-keys", body: #"{"user_id":"\#(userID)","name":"ci","scopes":["tickets:read","tickets:write"],"allowed_cidrs":["192.0.2.0/24"]}"#,
                                               contentType: "application/json", principal: world.principal, headers: session)
            #expect(created.status == 201, "\(created.json)")
            let key = try #require(created.json["key"] as? String)
            let keyID = try #require((created.json["record"] as? [String: Any])?["id"] as? String)
            let (keyStatus, keyPrincipal) = try await principal(world, key)
            #expect(keyStatus == 200)

            // The key exchanges for a token with fewer scopes; listing never shows a secret.
            let exchange = try await world.call(.POST, "/api/v1/tokens", body: #"{"scopes":["tickets:read"]}"#, contentType: "application/json", principal: keyPrincipal)
            #expect(exchange.status == 201)
            let token = try #require(exchange.json["access_token"] as? String)
            #expect(try await principal(world, token).0 == 200)
            let list = try await world.call(.GET, "/api/v1/api-keys", principal: world.principal)
            let listed = try #require((list.json["data"] as? [[String: Any]])?.first)
            #expect(listed["id"] as? String == keyID)
            #expect(listed["last_used_ip"] as? String == "192.0.2.44")
            #expect(!list.text.contains(String(key.suffix(43))))

            // Revoking the key ends the token exchanged from it, at once.
            let revoked = try await world.call(.DELETE, "/api/v1/api-keys/\(keyID)", principal: world.principal, headers: session)
            #expect(revoked.status == 204)
            #expect(try await principal(world, key).0 == 401)
            #expect(try await principal(world, token).0 == 401)
            #expect(try await world.call(.DELETE, "/api/v1/api-keys/\(keyID)", principal: world.principal, headers: session).status == 404)
            // A caller without security:write (here a token narrowed to tickets:read) manages no keys.
            let narrow = try #require(try await readOnlyPrincipal(world))
            let denied = try await world.call(.POST, "/api/v1/api-keys", body: #"{"user_id":"\#(userID)","name":"x","scopes":["tickets:read"]}"#,
                                              contentType: "application/json", principal: narrow)
            #expect(denied.status == 403)
            #expect(denied.json["code"] as? String == "permission_denied")
            #expect(try await world.call(.GET, "/api/v1/api-keys", principal: narrow).status == 403)
        }
    }

    /// A principal for a token holding only `tickets:read`.
    func readOnlyPrincipal(_ world: OAuthWorld) async throws -> String? {
        let exchange = try await world.call(.POST, "/api/v1/tokens", body: #"{"scopes":["tickets:read"]}"#, contentType: "application/json",
                                            principal: world.principal, headers: [("X-CSRF-Token", world.csrf)])
        return try await principal(world, exchange.json["access_token"] as? String ?? "").1
    }

    @Test func adminsRegisterAndRevokeOAuthClientsAndRevocationEndsTheirTokens() async throws {
        try await OAuthWorld.with { world in
            let session = [("X-CSRF-Token", world.csrf)]
            let created = try await world.call(.POST, "/api/v1/oauth-clients", body: #"{"name":"Reporting","redirect_uris":["https://reports.test/cb"],"scopes":["tickets:read"]}"#,
                                               contentType: "application/json", principal: world.principal, headers: session)
            #expect(created.status == 201, "\(created.json)")
            let id = try #require(created.json["client_id"] as? String)
            let secret = try #require(created.json["client_secret"] as? String)
            #expect(secret.hasPrefix("rcs_\(id)_"))
            let list = try await world.call(.GET, "/api/v1/oauth-clients", principal: world.principal)
            #expect((list.json["data"] as? [[String: Any]])?.first?["id"] as? String == id)
            #expect(!list.text.contains(secret))
            for (body, field) in [(#"{"name":"x","redirect_uris":["http://evil.test/cb"],"scopes":["tickets:read"]}"#, "redirect_uris"),
                                  (#"{"name":"x","redirect_uris":["https://a.test/cb#frag"],"scopes":["tickets:read"]}"#, "redirect_uris"),
                                  (#"{"name":"x","redirect_uris":["https://a.test/cb"],"scopes":["root"]}"#, "scopes")] {
                let refused = try await world.call(.POST, "/api/v1/oauth-clients", body: body, contentType: "application/json", principal: world.principal, headers: session)
                #expect(refused.status == 422, "\(body)")
                #expect(((refused.json["errors"] as? [[String: Any]])?.first?["field"] as? String) == field, "\(refused.json)")
            }

            let issued = try await world.call(.POST, "/oauth/token", body: OAuthWorld.form(["grant_type": "client_credentials", "client_id": id, "client_secret": secret]))
            let token = try #require(issued.json["access_token"] as? String)
            #expect(try await principal(world, token).0 == 200)
            #expect(try await world.call(.DELETE, "/api/v1/oauth-clients/\(id)", principal: world.principal, headers: session).status == 204)
            #expect(try await principal(world, token).0 == 401)
            let after = try await world.call(.POST, "/oauth/token", body: OAuthWorld.form(["grant_type": "client_credentials", "client_id": id, "client_secret": secret]))
            #expect(after.json["error"] as? String == "invalid_client")
        }
    }
}
