import Foundation
@testable import Identity
import NIOHTTP1
import RampartCore
import RampartStorage
import RampartTransport
import Testing

/// Identity's admin console pages (`/admin/security/...`) against a real identity over mutual
/// TLS and PostgreSQL, as the gateway calls them: the admin's real session principal, forms with
/// and without the session's CSRF token, another role's principal.
@Suite("Admin console: identity's security pages")
struct AdminPagesTests {
    typealias Answer = (status: Int, json: [String: Any], headers: HTTPHeaders, text: String)

    static let sections = ["/admin/security/users", "/admin/security/policies", "/admin/security/sso", "/admin/security/api-keys", "/admin/security/oauth-clients"]

    /// A session principal (and its CSRF token) for a new user of acme with `role`.
    static func signIn(_ world: OAuthWorld, email: String, role: Role) async throws -> (principal: String, csrf: String, session: String) {
        let routes = IdentityRoutesTests()
        let (created, _) = try await routes.send(world.pki, as: .operator("alice"), .POST, world.service.baseURL + "/internal/v1/operator/tenants/acme/users",
                                                 json: #"{"email":"\#(email)","name":"Someone","role":"\#(role.rawValue)","password":"\#(OAuthWorld.password)"}"#)
        #expect(created == 201)
        let signedIn = try await world.call(.POST, "/auth/password", body: #"{"email":"\#(email)","password":"\#(OAuthWorld.password)"}"#, contentType: "application/json")
        #expect(signedIn.status == 200)
        let session = try #require(IdentityPagesTests.cookie("__Host-rampart_session", from: signedIn.headers[canonicalForm: "set-cookie"].map(String.init)))
        let (principal, csrf) = try await resolve(world, session: session)
        return (principal, csrf, session)
    }

    static func resolve(_ world: OAuthWorld, session: String) async throws -> (principal: String, csrf: String) {
        let resolved = try await world.call(.POST, "/internal/v1/principal", body: #"{"tenant":"acme","session":"\#(session)","audience":"identity"}"#,
                                            contentType: "application/json")
        #expect(resolved.status == 200)
        return (try #require(resolved.json["principal"] as? String), try #require(resolved.json["csrf_token"] as? String))
    }

    /// The tenant's audit events waiting in identity's outbox, as text.
    static func outbox(_ world: OAuthWorld) async throws -> [String] {
        let me = try await world.call(.GET, "/api/v1/me", principal: world.principal)
        let tenant = try #require(((me.json["tenant"] as? [String: Any])?["id"] as? String).flatMap(UUID.init(uuidString:)).map(TenantID.init(rawValue:)))
        let url = try DatabaseURL(parsing: try #require(world.service.config.source.optional("RAMPART_DATABASE_URL")), key: "RAMPART_DATABASE_URL")
        return try await Database.withTemporaryClient(url, logger: TestDatabase.logger, timeout: .seconds(60)) { client in
            try await Database(client: client, logger: TestDatabase.logger).withTenant(tenant) {
                try await $0.values("SELECT event::text FROM outbox_events ORDER BY occurred_at, id", as: String.self)
            }
        }
    }

    func post(_ world: OAuthWorld, _ path: String, _ fields: [String: String], principal: String? = nil, csrf: String? = nil) async throws -> Answer {
        var fields = fields
        if let csrf = csrf ?? Optional(world.csrf), !csrf.isEmpty { fields["csrf_token"] = csrf }
        return try await world.call(.POST, path, body: OAuthWorld.form(fields), principal: principal ?? world.principal)
    }

    @Test func everySectionRendersForAnAdminInTheConsoleFrameWithTheSignOutForm() async throws {
        try await OAuthWorld.with { world in
            let root = try await world.call(.GET, "/admin", principal: world.principal)
            #expect(root.status == 303)
            #expect(root.headers.first(name: "location") == "/admin/security/users")
            for path in Self.sections {
                let page = try await world.call(.GET, path, principal: world.principal)
                #expect(page.status == 200, "\(path)")
                #expect(page.headers.first(name: "cache-control") == "no-store")
                let csp = try #require(page.headers.first(name: "content-security-policy"))
                #expect(csp.contains("default-src 'none'") && !csp.contains("unsafe-inline"))
                #expect(page.text.contains(#"<a href="\#(path)" aria-current="page">"#), "\(path)")
                // The whole console's bar: the helpdesk's and audit's sections too.
                #expect(page.text.contains(#"href="/admin/helpdesk/departments""#) && page.text.contains(#"href="/admin/audit/log""#))
                #expect(page.text.contains(#"<form method="post" action="/logout" class="sign-out"><input type="hidden" name="csrf_token" value="\#(world.csrf)">"#))
                #expect(!page.text.contains("<script"))
            }
            // Without a principal (not through the gateway's sign-in): to sign-in, and back.
            let anonymous = try await world.call(.GET, "/admin/security/policies")
            #expect(anonymous.status == 303)
            #expect(anonymous.headers.first(name: "location") == "/login?return_to=%2Fadmin%2Fsecurity%2Fpolicies")
        }
    }

    @Test func agentsAndCustomersAreRefusedEveryPageAndEveryChange() async throws {
        try await OAuthWorld.with { world in
            for (email, role) in [("agent@acme.test", Role.agent), ("customer@acme.test", Role.customer)] {
                let (principal, csrf, _) = try await Self.signIn(world, email: email, role: role)
                for path in Self.sections {
                    let page = try await world.call(.GET, path, principal: principal)
                    #expect(page.status == 403, "\(role) \(path)")
                    #expect(page.text.contains("Not allowed"))
                    #expect(page.headers.first(name: "content-type") == "text/html; charset=utf-8")
                }
                let change = try await post(world, "/admin/security/policies/sessions", ["session_idle_minutes": "5", "session_absolute_hours": "1"],
                                            principal: principal, csrf: csrf)
                #expect(change.status == 403)
                let key = try await post(world, "/admin/security/api-keys", ["name": "mine", "scopes": "tickets:read"], principal: principal, csrf: csrf)
                #expect(key.status == 403)
                #expect(!key.text.contains("rk_"))
            }
            let settings = try await world.call(.GET, "/api/v1/security/settings", principal: world.principal)
            #expect(settings.json["session_idle_minutes"] as? Int == 480)
        }
    }

    @Test func aFormWithoutTheSessionsTokenChangesNothingAndKeepsWhatWasTyped() async throws {
        try await OAuthWorld.with { world in
            for token in ["", String(repeating: "A", count: 43)] {
                let refused = try await post(world, "/admin/security/users", ["email": "nia@acme.test", "name": "Nia Typed Name", "role": "agent"], csrf: token)
                #expect(refused.status == 403)
                #expect(refused.text.contains("security token did not match"))
                #expect(refused.text.contains("Nia Typed Name"))
                #expect(refused.text.contains(#"href="/admin/security/users""#))
            }
            let list = try await world.call(.GET, "/admin/security/users", principal: world.principal)
            #expect(!list.text.contains("nia@acme.test"))
            // A sign-out without the token does not end the session either.
            let signOut = try await world.call(.POST, "/logout", body: OAuthWorld.form(["csrf_token": "nope"]), principal: world.principal)
            #expect(signOut.status == 403)
            #expect(try await world.call(.GET, "/admin/security/users", principal: world.principal).status == 200)
        }
    }

    @Test func invitingChangingARoleAndDeactivatingApplyAndAreAuditedAndHostileNamesAreEscaped() async throws {
        try await OAuthWorld.with { world in
            let hostile = #"<script>alert("x")</script>"#
            let invited = try await post(world, "/admin/security/users", ["email": "nia@acme.test", "name": hostile, "role": "agent"])
            #expect(invited.status == 201)
            #expect(invited.headers.first(name: "cache-control") == "no-store")
            #expect(invited.text.contains("https://acme.eu.localhost:8443/invitation?token=rin_"))
            let list = try await world.call(.GET, "/admin/security/users", principal: world.principal)
            #expect(!list.text.contains(hostile))
            #expect(list.text.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"))
            #expect(!list.text.contains("rin_"))

            let users = try await world.call(.GET, "/api/v1/users", principal: world.principal)
            let nia = try #require((users.json["data"] as? [[String: Any]])?.first { $0["email"] as? String == "nia@acme.test" })
            let id = try #require(nia["id"] as? String).lowercased()
            let role = try await post(world, "/admin/security/users/\(id)/role", ["role": "read_only_agent"])
            #expect(role.status == 303)
            #expect(role.headers.first(name: "location") == "/admin/security/users?done=role")
            let deactivated = try await post(world, "/admin/security/users/\(id)/deactivate", [:])
            #expect(deactivated.status == 303)
            let after = try await world.call(.GET, "/api/v1/users", principal: world.principal)
            let changed = try #require((after.json["data"] as? [[String: Any]])?.first { ($0["id"] as? String)?.lowercased() == id })
            #expect(changed["role"] as? String == "read_only_agent")
            #expect(changed["status"] as? String == "deactivated")
            let events = try await Self.outbox(world)
            #expect(events.contains { $0.contains("user.role_changed") && $0.contains(id) })
            #expect(events.contains { $0.contains("user.deactivated") && $0.contains(id) })

            // The API's own rules: not oneself, and another tenant's (or no) user is not found.
            let me = try await world.call(.GET, "/api/v1/me", principal: world.principal)
            let own = try #require((me.json["user"] as? [String: Any])?["id"] as? String)
            let selfChange = try await post(world, "/admin/security/users/\(own)/deactivate", [:])
            #expect(selfChange.status == 422)
            #expect(selfChange.text.contains("You cannot deactivate yourself"))
            #expect(try await post(world, "/admin/security/users/\(UUID().uuidString)/role", ["role": "agent"]).status == 404)
            let unknownRole = try await post(world, "/admin/security/users/\(id)/role", ["role": "owner"])
            #expect(unknownRole.text.contains("Choose one of the listed roles"))
        }
    }

    @Test func thePasswordPolicyFormChangesThePolicyAuditedAndExplainsBadValuesNextToThem() async throws {
        try await OAuthWorld.with { world in
            var fields = ["preset": "custom", "minimum_length": "14", "maximum_length": "128", "history_depth": "3", "maximum_age_days": "",
                          "require_letter": "yes", "require_digit": "yes", "require_mixed_case": "no", "require_symbol": "no",
                          "reject_common": "yes", "reject_personal_information": "yes"]
            let saved = try await post(world, "/admin/security/policies/staff", fields)
            #expect(saved.status == 303)
            #expect(saved.headers.first(name: "location") == "/admin/security/policies?done=staff")
            let settings = try await world.call(.GET, "/api/v1/security/settings", principal: world.principal)
            let staff = try #require(settings.json["staff_password_policy"] as? [String: Any])
            #expect(staff["minimum_length"] as? Int == 14)
            #expect(staff["history_depth"] as? Int == 3)
            #expect(staff["require_digit"] as? Bool == true)
            #expect(try await Self.outbox(world).contains { $0.contains("security_settings.updated") && $0.contains("staff_password_policy") })
            let page = try await world.call(.GET, "/admin/security/policies?done=staff", principal: world.principal)
            #expect(page.text.contains("Password policy for staff saved."))
            #expect(page.text.contains(#"id="staff-minimum_length" name="minimum_length" value="14""#))

            fields["minimum_length"] = "3"
            fields["history_depth"] = "many"
            let bad = try await post(world, "/admin/security/policies/staff", fields)
            #expect(bad.status == 422)
            #expect(bad.text.contains(#"id="staff-history_depth-error">Enter a whole number.</p>"#))
            #expect(bad.text.contains(#"value="many""#))
            fields["history_depth"] = "0"
            let short = try await post(world, "/admin/security/policies/staff", fields)
            #expect(short.status == 422)
            #expect(short.text.contains(#"id="staff-minimum_length-error">Must be between 8 and 64.</p>"#))
            #expect(short.text.contains(#"id="staff-minimum_length" name="minimum_length" value="3""#))
            let sessions = try await post(world, "/admin/security/policies/sessions", ["session_idle_minutes": "600", "session_absolute_hours": "2"])
            #expect(sessions.status == 422)
            #expect(sessions.text.contains("Cannot exceed the absolute session lifetime."))
            let twoFactor = try await post(world, "/admin/security/policies/two-factor", ["totp_admin": "required", "totp_agent": "required"])
            #expect(twoFactor.status == 303)
            let after = try await world.call(.GET, "/api/v1/security/settings", principal: world.principal)
            #expect(after.json["totp_required_roles"] as? [String] == ["admin", "agent"])
            #expect((after.json["staff_password_policy"] as? [String: Any])?["minimum_length"] as? Int == 14)
        }
    }

    @Test func anAPIKeysSecretIsShownOnceAndTheListShowsOnlyItsPrefix() async throws {
        try await OAuthWorld.with { world in
            let users = try await world.call(.GET, "/api/v1/users", principal: world.principal)
            let ada = try #require((users.json["data"] as? [[String: Any]])?.first?["id"] as? String)
            let created = try await post(world, "/admin/security/api-keys", ["user_id": ada, "name": "Reporting <b>", "scopes": "tickets:read audit:read"])
            #expect(created.status == 201)
            #expect(created.headers.first(name: "cache-control") == "no-store")
            let secret = try #require(created.text.range(of: #"<code id="secret">"#).map { String(created.text[$0.upperBound...].prefix { $0 != "<" }) })
            #expect(secret.hasPrefix("rk_"))
            let id = String(secret.dropFirst(3).prefix { $0 != "_" })
            let list = try await world.call(.GET, "/admin/security/api-keys", principal: world.principal)
            #expect(!list.text.contains(secret))
            #expect(!list.text.contains(String(secret.suffix(20))))
            #expect(list.text.contains("rk_\(id)_…"))
            #expect(list.text.contains("Reporting &lt;b&gt;"))
            #expect(list.text.contains("<td>audit:read tickets:read</td>"))
            #expect(try await Self.outbox(world).contains { $0.contains("api_key.created") && !$0.contains(secret) })

            // Bad input: field-level errors, the typed name kept; a scope beyond the role refused.
            let bad = try await post(world, "/admin/security/api-keys", ["user_id": ada, "name": "Second", "scopes": "tickets:read everything",
                                                                          "allowed_cidrs": "not-a-network", "expires_at": "soon"])
            #expect(bad.status == 422)
            #expect(bad.text.contains(#"id="key-expires_at-error""#))
            #expect(bad.text.contains(#"value="Second""#))
            let revoked = try await post(world, "/admin/security/api-keys/\(id)/revoke", [:])
            #expect(revoked.status == 303)
            let resolved = try await world.call(.POST, "/internal/v1/principal", body: #"{"tenant":"acme","credential":"\#(secret)","audience":"tickets"}"#,
                                                contentType: "application/json")
            #expect(resolved.status == 401)
        }
    }

    @Test func anOAuthClientsSecretIsShownOnceAndItCanBeDeleted() async throws {
        try await OAuthWorld.with { world in
            let created = try await post(world, "/admin/security/oauth-clients", ["name": "Partner", "type": "confidential",
                                                                                  "redirect_uris": "https://partner.test/cb", "scopes": "tickets:read"])
            #expect(created.status == 201)
            let secret = try #require(created.text.range(of: #"<code id="secret">"#).map { String(created.text[$0.upperBound...].prefix { $0 != "<" }) })
            #expect(secret.hasPrefix("rcs_"))
            let list = try await world.call(.GET, "/admin/security/oauth-clients", principal: world.principal)
            #expect(!list.text.contains(secret))
            #expect(list.text.contains("https://partner.test/cb"))
            let bad = try await post(world, "/admin/security/oauth-clients", ["name": "Evil", "type": "public", "redirect_uris": "http://evil.test/cb", "scopes": "tickets:read"])
            #expect(bad.status == 422)
            #expect(bad.text.contains(#"id="client-redirect_uris-error""#))
            let clients = try await world.call(.GET, "/api/v1/oauth-clients", principal: world.principal)
            let id = try #require((clients.json["data"] as? [[String: Any]])?.first?["id"] as? String)
            #expect(try await post(world, "/admin/security/oauth-clients/\(id)/delete", [:]).status == 303)
            #expect(try await Self.outbox(world).contains { $0.contains("oauth_client.revoked") })
        }
    }

    @Test func theSSOPageOffersThePresetsAndTheMetadataAndSavesThroughTheAPIsChecks() async throws {
        try await OAuthWorld.with { world in
            let page = try await world.call(.GET, "/admin/security/sso", principal: world.principal)
            #expect(page.status == 200)
            #expect(page.text.contains(#"href="/auth/saml/metadata" download="rampart-staff-sp-metadata.xml""#))
            #expect(page.text.contains(#"href="/auth/saml/metadata?audience=customers""#))
            #expect(page.text.contains(">Okta</option>") && page.text.contains(">OneLogin</option>") && page.text.contains(">Microsoft Entra ID</option>"))
            #expect(page.text.contains(#"<td>ACS URL (SAML)</td><td>https://acme.eu."#) && page.text.contains("/auth/saml/acs?audience=customers</td>"))
            let bad = try await post(world, "/admin/security/sso/staff", ["preset": "okta", "saml_metadata": "<not xml", "default_role": "agent"])
            #expect(bad.status == 422)
            #expect(bad.text.contains(#"id="staff-saml_metadata-error""#))
            #expect(bad.text.contains("&lt;not xml"))
            let saved = try await post(world, "/admin/security/sso/customers", ["preset": "entra", "oidc_issuer": "https://login.example.test/tenant/v2.0",
                                                                              "oidc_client_id": "rampart", "oidc_client_secret": "s3cret-value", "default_role": "customer"])
            #expect(saved.status == 303, "\(saved.text)")
            let after = try await world.call(.GET, "/admin/security/sso", principal: world.principal)
            #expect(after.text.contains("OpenID Connect (https://login.example.test/tenant/v2.0)"))
            #expect(!after.text.contains("s3cret-value"))
            #expect(try await Self.outbox(world).contains { $0.contains("sso_configuration.updated") && !$0.contains("s3cret-value") })
        }
    }

    @Test func signingOutThroughTheFormEndsTheSession() async throws {
        try await OAuthWorld.with { world in
            let (principal, csrf, session) = try await Self.signIn(world, email: "leaving@acme.test", role: .agent)
            let done = try await world.call(.POST, "/logout", body: OAuthWorld.form(["csrf_token": csrf]), principal: principal)
            #expect(done.status == 303)
            #expect(done.headers.first(name: "location") == "/login")
            #expect(done.headers.first(name: "set-cookie")?.hasPrefix("__Host-rampart_session=;") == true)
            // The session is gone: identity resolves its cookie to nobody, and it was audited.
            let resolved = try await world.call(.POST, "/internal/v1/principal", body: #"{"tenant":"acme","session":"\#(session)","audience":"identity"}"#,
                                                contentType: "application/json")
            #expect(resolved.status == 401)
            #expect(try await Self.outbox(world).contains { $0.contains("session") && $0.contains("revoked") })
        }
    }
}
