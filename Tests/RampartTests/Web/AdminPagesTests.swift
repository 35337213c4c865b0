import Foundation
@testable import Identity
import NIOHTTP1
import PostgresNIO
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
        try await tenantValues(world, "SELECT event::text FROM outbox_events ORDER BY occurred_at, id")
    }

    /// One text column of `sql`, read in acme's transaction (row-level security) in identity's database.
    static func tenantValues(_ world: OAuthWorld, _ sql: String) async throws -> [String] {
        let me = try await world.call(.GET, "/api/v1/me", principal: world.principal)
        let tenant = try #require(((me.json["tenant"] as? [String: Any])?["id"] as? String).flatMap(UUID.init(uuidString:)).map(TenantID.init(rawValue:)))
        let url = try DatabaseURL(parsing: try #require(world.service.config.source.optional("RAMPART_DATABASE_URL")), key: "RAMPART_DATABASE_URL")
        return try await Database.withTemporaryClient(url, logger: TestDatabase.logger, timeout: .seconds(60)) { client in
            try await Database(client: client, logger: TestDatabase.logger).withTenant(tenant) {
                try await $0.values(PostgresQuery(unsafeSQL: sql), as: String.self)
            }
        }
    }

    func post(_ world: OAuthWorld, _ path: String, _ fields: [String: String], principal: String? = nil, csrf: String? = nil) async throws -> Answer {
        var fields = fields
        if let csrf = csrf ?? Optional(world.csrf), !csrf.isEmpty { fields["csrf_token"] = csrf }
        return try await world.call(.POST, path, body: OAuthWorld.form(fields), principal: principal ?? world.principal)
    }

    /// The version a console page gave the form that posts to `action` (its hidden field).
    static func formVersion(in html: String, action: String) throws -> String {
        let form = try #require(html.range(of: #"action="\#(action)">"#))
        let field = try #require(html[form.upperBound...].range(of: #"<input type="hidden" name="version" value=""#))
        return String(html[field.upperBound...].prefix { $0 != "\"" })
    }

    /// The version a policies page gave `part`'s form.
    static func policyVersion(in html: String, part: String) throws -> String {
        try formVersion(in: html, action: "/admin/security/policies/\(part)")
    }

    /// Posts the form at `action` as the console page `page` shows it now (with its version).
    func postShown(_ world: OAuthWorld, page: String, _ action: String, _ fields: [String: String]) async throws -> Answer {
        let shown = try await world.call(.GET, page, principal: world.principal)
        var fields = fields
        fields["version"] = try Self.formVersion(in: shown.text, action: action)
        return try await post(world, action, fields)
    }

    /// Posts `part`'s policy form as the policies page shows it now (with its version).
    func postPolicy(_ world: OAuthWorld, _ part: String, _ fields: [String: String]) async throws -> Answer {
        try await postShown(world, page: "/admin/security/policies", "/admin/security/policies/\(part)", fields)
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

    /// The users list is searched by name or email (any case, wildcards literal) and role, in the
    /// page and the API alike; paging keeps the search; bad filters are clear refusals.
    @Test func usersAreSearchedByNameOrEmailAndRoleInThePageAndTheAPI() async throws {
        try await OAuthWorld.with { world in
            let routes = IdentityRoutesTests()
            for (email, name, role) in [("grace.hopper@acme.test", "Grace Hopper", "agent"), ("alan@acme.test", "Alan Turing", "admin"),
                                        ("under_score@acme.test", "Percent 100%", "customer"), ("ada.byron@acme.test", "Ada Byron", "read_only_agent")] {
                let (created, _) = try await routes.send(world.pki, as: .operator("alice"), .POST, world.service.baseURL + "/internal/v1/operator/tenants/acme/users",
                                                         json: #"{"email":"\#(email)","name":"\#(name)","role":"\#(role)"}"#)
                #expect(created == 201)
            }
            func page(_ query: String) async throws -> String {
                let answer = try await world.call(.GET, "/admin/security/users" + query, principal: world.principal)
                #expect(answer.status == 200, "\(query)")
                return answer.text
            }
            let hopper = try await page("?q=HOPPER")
            #expect(hopper.contains("grace.hopper@acme.test") && !hopper.contains("alan@acme.test") && hopper.contains("Users matching the search"))
            #expect(hopper.contains(#"name="q" value="HOPPER""#) && hopper.contains(#"<a class="button secondary" href="/admin/security/users">Show all</a>"#))
            let percent = try await page("?q=%25")
            #expect(percent.contains("under_score@acme.test") && !percent.contains("grace.hopper@acme.test"), "% is a character, not a wildcard")
            let underscore = try await page("?q=_")
            #expect(underscore.contains("under_score@acme.test") && !underscore.contains("alan@acme.test"), "_ is a character, not a wildcard")
            let admins = try await page("?role=admin")
            #expect(admins.contains("alan@acme.test") && !admins.contains("grace.hopper@acme.test"))
            let searchRole = try #require(admins.range(of: #"id="search-role""#).flatMap { start in
                admins.range(of: "</select>", range: start.upperBound..<admins.endIndex).map { admins[start.upperBound..<$0.lowerBound] }
            })
            #expect(searchRole.contains(#"<option value="admin" selected>"#) && !searchRole.contains(#"<option value="" selected>"#), "the search keeps its role")
            let both = try await page("?q=a&role=read_only_agent")
            #expect(both.contains("ada.byron@acme.test") && !both.contains("alan@acme.test"))
            #expect(try await page("?q=nobody-here").contains("No user matches the search."))
            let hostile = try await page("?q=%3Cscript%3Ewindow.pwned%3D1%3C%2Fscript%3E")
            #expect(!hostile.contains("<script>window.pwned") && hostile.contains("&lt;script&gt;window.pwned=1&lt;/script&gt;"))
            let unfiltered = try await page("")
            #expect(unfiltered.contains("grace.hopper@acme.test") && unfiltered.contains("alan@acme.test") && !unfiltered.contains("Show all"))

            // The API: the same filter; the next page keeps it; bad filters are 400 problems.
            let api = try await world.call(.GET, "/api/v1/users?q=acme.test&role=&limit=1", principal: world.principal)
            #expect(api.status == 200 && (api.json["data"] as? [[String: Any]])?.count == 1)
            let next = try #require((api.json["links"] as? [String: Any])?["next"] as? String)
            #expect(next.contains("q=acme.test") && !next.contains("role="))
            let second = try await world.call(.GET, next, principal: world.principal)
            #expect(second.status == 200 && (second.json["data"] as? [[String: Any]])?.first?["email"] as? String != (api.json["data"] as? [[String: Any]])?.first?["email"] as? String)
            let agents = try await world.call(.GET, "/api/v1/users?role=agent", principal: world.principal)
            #expect((agents.json["data"] as? [[String: Any]])?.compactMap { $0["email"] as? String } == ["grace.hopper@acme.test"])
            let injected = try await world.call(.GET, "/api/v1/users?q=%27%20OR%201%3D1%20--", principal: world.principal)
            #expect(injected.status == 200 && (injected.json["data"] as? [[String: Any]])?.isEmpty == true)
            for bad in ["role=owner", "q=" + String(repeating: "a", count: 255)] {
                let refused = try await world.call(.GET, "/api/v1/users?" + bad, principal: world.principal)
                #expect(refused.status == 400 && refused.json["code"] as? String == "invalid_query", "\(bad)")
            }
        }
    }

    @Test func thePasswordPolicyFormChangesThePolicyAuditedAndExplainsBadValuesNextToThem() async throws {
        try await OAuthWorld.with { world in
            var fields = ["preset": "custom", "minimum_length": "14", "maximum_length": "128", "history_depth": "3", "maximum_age_days": "",
                          "require_letter": "yes", "require_digit": "yes", "require_mixed_case": "no", "require_symbol": "no",
                          "reject_common": "yes", "reject_personal_information": "yes"]
            let saved = try await postPolicy(world, "staff", fields)
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
            let bad = try await postPolicy(world, "staff", fields)
            #expect(bad.status == 422)
            #expect(bad.text.contains(#"id="staff-history_depth-error">Enter a whole number.</p>"#))
            #expect(bad.text.contains(#"value="many""#))
            fields["history_depth"] = "0"
            let short = try await postPolicy(world, "staff", fields)
            #expect(short.status == 422)
            #expect(short.text.contains(#"id="staff-minimum_length-error">Must be between 8 and 64.</p>"#))
            #expect(short.text.contains(#"id="staff-minimum_length" name="minimum_length" value="3""#))
            let sessions = try await postPolicy(world, "sessions", ["session_idle_minutes": "600", "session_absolute_hours": "2"])
            #expect(sessions.status == 422)
            #expect(sessions.text.contains("Cannot exceed the absolute session lifetime."))
            let twoFactor = try await postPolicy(world, "two-factor", ["totp_admin": "required", "totp_agent": "required"])
            #expect(twoFactor.status == 303)
            let after = try await world.call(.GET, "/api/v1/security/settings", principal: world.principal)
            #expect(after.json["totp_required_roles"] as? [String] == ["admin", "agent"])
            #expect((after.json["staff_password_policy"] as? [String: Any])?["minimum_length"] as? Int == 14)
        }
    }

    @Test func aPolicyFormShownBeforeAnotherAdminsChangeToItsPartSavesNothingAndShowsTheirChange() async throws {
        try await OAuthWorld.with { world in
            // Two admins open the policies page: their forms carry the same versions.
            let opened = try await world.call(.GET, "/admin/security/policies", principal: world.principal)
            let staffShown = try Self.policyVersion(in: opened.text, part: "staff")
            let sessionsShown = try Self.policyVersion(in: opened.text, part: "sessions")
            var fields = ["preset": "custom", "minimum_length": "14", "maximum_length": "128", "history_depth": "0", "maximum_age_days": "",
                          "require_letter": "yes", "require_digit": "no", "require_mixed_case": "no", "require_symbol": "no",
                          "reject_common": "yes", "reject_personal_information": "yes", "version": staffShown]
            #expect(try await post(world, "/admin/security/policies/staff", fields).status == 303)
            func stored() async throws -> [String: Any] {
                try await world.call(.GET, "/api/v1/security/settings", principal: world.principal).json
            }
            func minimumLength() async throws -> Int? {
                (try await stored()["staff_password_policy"] as? [String: Any])?["minimum_length"] as? Int
            }

            // The second admin, from the page opened before, is told and shown the first one's change.
            fields["minimum_length"] = "10"
            let stale = try await post(world, "/admin/security/policies/staff", fields)
            #expect(stale.status == 409)
            #expect(stale.text.contains("Someone else changed the password policy for staff after this page was opened, so nothing was saved."))
            #expect(stale.text.contains(#"id="staff-minimum_length" name="minimum_length" value="14""#))
            #expect(try await minimumLength() == 14)

            // A refused form keeps the version it was shown with, so fixing a typo does not get past the check.
            fields["minimum_length"] = "3"
            let typo = try await post(world, "/admin/security/policies/staff", fields)
            #expect(typo.status == 422)
            #expect(try Self.policyVersion(in: typo.text, part: "staff") == staffShown)

            // Another part's form from the same page still saves, and keeps the staff change.
            let sessions = try await post(world, "/admin/security/policies/sessions",
                                          ["session_idle_minutes": "60", "session_absolute_hours": "8", "version": sessionsShown])
            #expect(sessions.status == 303)
            #expect(try await stored()["session_idle_minutes"] as? Int == 60)
            #expect(try await minimumLength() == 14)

            // From the page that showed the change, the second admin's change saves.
            fields["minimum_length"] = "10"
            fields["version"] = try Self.policyVersion(in: stale.text, part: "staff")
            #expect(try await post(world, "/admin/security/policies/staff", fields).status == 303)
            #expect(try await minimumLength() == 10)

            // A form without a version (made up, or from before versions) saves nothing, also
            // once it was refused for a typo and corrected.
            fields["minimum_length"] = "20"
            fields.removeValue(forKey: "version")
            #expect(try await post(world, "/admin/security/policies/staff", fields).status == 409)
            fields["minimum_length"] = "2"
            let unversionedTypo = try await post(world, "/admin/security/policies/staff", fields)
            #expect(unversionedTypo.status == 422)
            fields["minimum_length"] = "20"
            fields["version"] = try Self.policyVersion(in: unversionedTypo.text, part: "staff")
            #expect(try await post(world, "/admin/security/policies/staff", fields).status == 409)
            #expect(try await minimumLength() == 10)
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

    /// Rotating a confidential client's secret: the new one shown once (API and page), the old
    /// one refused at once, issued tokens kept or (asked) revoked, each rotation audited without
    /// the secret; public clients, other tenants' clients, agents and forms without the session's
    /// token change nothing.
    @Test func aClientSecretIsRotatedShownOnceAndTheOldOneStopsWorkingAtOnce() async throws {
        try await OAuthWorld.with { world in
            let (clientID, first) = try await world.client(scopes: ["tickets:read"])
            let original = try #require(first)
            func token(_ secret: String) async throws -> String? {
                let issued = try await world.call(.POST, "/oauth/token", body: OAuthWorld.form(["grant_type": "client_credentials", "client_id": clientID,
                                                                                              "client_secret": secret, "scope": "tickets:read"]))
                return issued.status == 200 ? issued.json["access_token"] as? String : nil
            }
            func active(_ access: String, _ secret: String) async throws -> Bool {
                let answer = try await world.call(.POST, "/oauth/introspect", body: OAuthWorld.form(["token": access, "client_id": clientID, "client_secret": secret]))
                return answer.json["active"] as? Bool == true
            }
            let early = try #require(try await token(original))

            // The API: the new secret once, no-store; the old one refused; issued tokens kept.
            let rotated = try await world.call(.POST, "/api/v1/oauth-clients/\(clientID)/secret", body: "{}", contentType: "application/json", principal: world.principal,
                                          headers: [("X-CSRF-Token", world.csrf)])
            #expect(rotated.status == 200 && rotated.headers.first(name: "cache-control") == "no-store")
            let second = try #require(rotated.json["client_secret"] as? String)
            #expect(second.hasPrefix("rcs_\(clientID)_") && second != original)
            #expect(try await token(original) == nil, "the old secret stops at once")
            let later = try #require(try await token(second))
            #expect(try await active(early, second), "tokens issued before are kept unless asked")

            // The page, revoking issued tokens too.
            let page = try await post(world, "/admin/security/oauth-clients/\(clientID)/secret", ["tokens": "revoke"])
            #expect(page.status == 200 && page.headers.first(name: "cache-control") == "no-store" && page.text.contains("Every token issued to the client was revoked."))
            let third = try #require(page.text.range(of: #"<code id="secret">"#).map { String(page.text[$0.upperBound...].prefix { $0 != "<" }) })
            #expect(third.hasPrefix("rcs_\(clientID)_") && third != second)
            #expect(try await token(second) == nil)
            #expect(try await !active(early, third), "revoked with the rotation")
            #expect(try await !active(later, third), "revoked with the rotation")
            let list = try await world.call(.GET, "/admin/security/oauth-clients", principal: world.principal)
            #expect(list.text.contains(">Rotate secret</button>") && !list.text.contains(third))

            let events = try await Self.outbox(world).filter { $0.contains("oauth_client.secret_rotated") }
            #expect(events.count == 2 && !events.contains { $0.contains(second) || $0.contains(third) })

            // Refusals that change nothing.
            let (publicID, _) = try await world.client(public: true)
            let publicClient = try await world.call(.POST, "/api/v1/oauth-clients/\(publicID)/secret", body: "{}", contentType: "application/json", principal: world.principal,
                                          headers: [("X-CSRF-Token", world.csrf)])
            #expect(publicClient.status == 409 && publicClient.json["code"] as? String == "public_client")
            let (globexID, _) = try await world.client(tenant: "globex")
            let foreign = try await world.call(.POST, "/api/v1/oauth-clients/\(globexID)/secret", body: "{}", contentType: "application/json", principal: world.principal,
                                          headers: [("X-CSRF-Token", world.csrf)])
            #expect(foreign.status == 404)
            let agent = try await Self.signIn(world, email: "agent@acme.test", role: .agent)
            let refused = try await world.call(.POST, "/api/v1/oauth-clients/\(clientID)/secret", body: "{}", contentType: "application/json", principal: agent.principal,
                                               headers: [("X-CSRF-Token", agent.csrf)])
            #expect(refused.status == 403 && refused.json["code"] as? String == "permission_denied")
            let stale = try await post(world, "/admin/security/oauth-clients/\(clientID)/secret", ["tokens": "keep"], csrf: "stale-token")
            #expect(stale.status == 403 && !stale.text.contains("rcs_"))
            #expect(try await token(third) != nil, "the last secret still works")
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
            let bad = try await postShown(world, page: "/admin/security/sso", "/admin/security/sso/staff", ["preset": "okta", "saml_metadata": "<not xml", "default_role": "agent"])
            #expect(bad.status == 422)
            #expect(bad.text.contains(#"id="staff-saml_metadata-error""#))
            #expect(bad.text.contains("&lt;not xml"))
            let saved = try await postShown(world, page: "/admin/security/sso", "/admin/security/sso/customers", ["preset": "entra", "oidc_issuer": "https://login.example.test/tenant/v2.0",
                                                                              "oidc_client_id": "rampart", "oidc_client_secret": "s3cret-value", "default_role": "customer"])
            #expect(saved.status == 303, "\(saved.text)")
            let after = try await world.call(.GET, "/admin/security/sso", principal: world.principal)
            #expect(after.text.contains("OpenID Connect (https://login.example.test/tenant/v2.0)"))
            #expect(!after.text.contains("s3cret-value"))
            #expect(try await Self.outbox(world).contains { $0.contains("sso_configuration.updated") && !$0.contains("s3cret-value") })
        }
    }

    /// A form shown before another admin saved that audience's single sign-on saves nothing
    /// (409, the current settings shown); the other audience's form still saves; a form without
    /// a version saves nothing; a refused form keeps its version.
    @Test func anSSOFormShownBeforeAnotherAdminsSaveSavesNothing() async throws {
        try await OAuthWorld.with { world in
            let opened = try await world.call(.GET, "/admin/security/sso", principal: world.principal).text
            let staffShown = try Self.formVersion(in: opened, action: "/admin/security/sso/staff")
            let customersShown = try Self.formVersion(in: opened, action: "/admin/security/sso/customers")
            let other = try await world.call(.PUT, "/api/v1/sso/staff", body: #"{"preset":"okta","jwt":{"issuer":"https://other.test","audience":"rampart","algorithm":"HS256","shared_secret":"another-shared-secret-of-32-bytes!!"}}"#,
                                             contentType: "application/json", principal: world.principal, headers: [("X-CSRF-Token", world.csrf)])
            #expect(other.status == 200, "\(other.text)")
            let fields = ["preset": "entra", "oidc_issuer": "https://login.example.test/tenant/v2.0", "oidc_client_id": "rampart",
                          "oidc_client_secret": "s3cret-value", "default_role": "agent"]
            for stale in [fields.merging(["version": staffShown]) { $1 }, fields] {
                let refused = try await post(world, "/admin/security/sso/staff", stale)
                #expect(refused.status == 409 && refused.text.contains("Someone else changed single sign-on for staff after this page was opened, so nothing was saved."))
                #expect(refused.text.contains("JWT SSO (https://other.test)"), "the current settings are shown")
            }
            let staff = try await world.call(.GET, "/api/v1/sso/staff", principal: world.principal)
            #expect((staff.json["configuration"] as? [String: Any])?["oidc"] == nil, "the other admin's change stays")
            // Stale and mistyped: stale first, so nobody is told about settings they never saw.
            let typo = fields.merging(["default_role": "owner"]) { $1 }
            #expect(try await post(world, "/admin/security/sso/staff", typo.merging(["version": staffShown]) { $1 }).status == 409)
            // A refused form keeps the version it came with.
            let current = try Self.formVersion(in: try await world.call(.GET, "/admin/security/sso", principal: world.principal).text, action: "/admin/security/sso/staff")
            #expect(current != staffShown)
            let mistyped = try await post(world, "/admin/security/sso/staff", typo.merging(["version": current, "jwt_enabled": "no"]) { $1 })
            #expect(mistyped.status == 422)
            #expect(try Self.formVersion(in: mistyped.text, action: "/admin/security/sso/staff") == current)
            // The customers' form of the same page still saves.
            let customers = try await post(world, "/admin/security/sso/customers", fields.merging(["version": customersShown, "default_role": "customer"]) { $1 })
            #expect(customers.status == 303, "\(customers.text)")
            #expect(try await Self.outbox(world).filter { $0.contains("sso_configuration.updated") }.count == 2)
        }
    }

    /// The SSO form covers every setting (JWT SSO, SAML options, attribute names, group mappings,
    /// roles held to SSO or the IdP's second factor) and saving it keeps what it does not show:
    /// the stored IdP when the metadata field is empty, stored secrets when their fields are
    /// empty. Bad mappings and roles are field errors with the text kept; the tenant's own keys
    /// rotate and retire from the page, audited.
    @Test func theSSOFormSetsEverySettingAndKeepsWhatItDoesNotShow() async throws {
        try await OAuthWorld.with { world in
            let idp = try SAMLTestIdP()
            let put = try await world.call(.PUT, "/api/v1/sso/staff", body: try String(decoding: JSONSerialization.data(withJSONObject: [
                "preset": "okta", "saml_metadata": idp.metadataXML(), "group_roles": ["Support": "agent"], "default_role": "agent",
            ]), as: UTF8.self), contentType: "application/json", principal: world.principal, headers: [("X-CSRF-Token", world.csrf)])
            #expect(put.status == 200, "\(put.text)")
            func staff() async throws -> [String: Any] {
                let answer = try await world.call(.GET, "/api/v1/sso", principal: world.principal)
                let views = try #require(answer.json["data"] as? [[String: Any]])
                return try #require(views.first { $0["audience"] as? String == "staff" })
            }
            func configuration() async throws -> [String: Any] { try await staff()["configuration"] as? [String: Any] ?? [:] }
            let page = try await world.call(.GET, "/admin/security/sso", principal: world.principal)
            #expect(page.text.contains("An identity provider is stored (https://idp.test/saml)") && page.text.contains("Support = agent"))
            #expect(page.text.contains("<td>Group mappings</td><td>Support → Agent</td>"))

            // What the browser posts: the stored IdP kept (metadata left empty), mappings and roles changed, JWT SSO added.
            let secret = "a-shared-secret-of-at-least-32-bytes!!"
            var fields = ["preset": "okta", "saml_enabled": "yes", "saml_metadata": "", "saml_idp_initiated": "no", "saml_encrypted": "yes",
                          "saml_sign_requests": "no", "saml_sha1": "no", "oidc_enabled": "no", "oidc_issuer": "", "oidc_client_id": "",
                          "jwt_enabled": "yes", "jwt_issuer": "https://www.acme.test", "jwt_audience": "rampart", "jwt_algorithm": "HS256",
                          "jwt_shared_secret": secret, "jwt_public_key": "", "attr_email": "", "attr_name": "", "attr_groups": "",
                          "group_roles": "Support = agent\r\nAdmins = admin", "default_role": "agent", "jit_provisioning": "yes",
                          "sso_required_roles": "agent", "idp_second_factor_roles": "admin agent", "break_glass_email": ""]
            let saved = try await postShown(world, page: "/admin/security/sso", "/admin/security/sso/staff", fields)
            #expect(saved.status == 303, "\(saved.text)")
            var stored = try await configuration()
            #expect((stored["saml"] as? [String: Any])?["entity_id"] as? String == "https://idp.test/saml", "the IdP kept")
            #expect((stored["saml"] as? [String: Any])?["require_encrypted_assertions"] as? Bool == true)
            #expect(stored["group_roles"] as? [String: String] == ["Support": "agent", "Admins": "admin"])
            #expect(stored["sso_required_roles"] as? [String] == ["agent"] && Set(stored["idp_second_factor_roles"] as? [String] ?? []) == ["admin", "agent"])
            #expect((stored["jwt"] as? [String: Any])?["issuer"] as? String == "https://www.acme.test")
            #expect((stored["jwt"] as? [String: Any])?["sealed_secret"] as? String == "set")
            let sealed = try await Self.tenantValues(world, "SELECT configuration::text FROM sso_configurations")
            #expect(!sealed.contains { $0.contains(secret) }, "the secret is sealed")

            // Saved again with the secret field empty: still set (and still signing in is possible with it).
            fields["jwt_shared_secret"] = ""
            #expect(try await postShown(world, page: "/admin/security/sso", "/admin/security/sso/staff", fields).status == 303)
            #expect(((try await configuration())["jwt"] as? [String: Any])?["sealed_secret"] as? String == "set")

            // Bad mappings and roles: field errors, the text kept, nothing changed.
            var bad = fields
            bad["group_roles"] = "Support agent"
            bad["sso_required_roles"] = "agent owner"
            let refused = try await postShown(world, page: "/admin/security/sso", "/admin/security/sso/staff", bad)
            #expect(refused.status == 422 && refused.text.contains(#"id="staff-group_roles-error""#) && refused.text.contains(#"id="staff-sso_required_roles-error""#))
            #expect(refused.text.contains("Support agent</textarea>") && refused.text.contains(#"value="agent owner""#))
            #expect((try await configuration())["group_roles"] as? [String: String] == ["Support": "agent", "Admins": "admin"])

            // SAML switched off, JWT stays.
            fields["saml_enabled"] = "no"
            #expect(try await postShown(world, page: "/admin/security/sso", "/admin/security/sso/staff", fields).status == 303)
            stored = try await configuration()
            #expect(stored["saml"] == nil || stored["saml"] is NSNull)
            #expect(stored["jwt"] is [String: Any])
            #expect(try await Self.outbox(world).filter { $0.contains("sso_configuration.updated") }.allSatisfy { !$0.contains(secret) })

            // The tenant's own keys: rotate gives two (the rollover), retire leaves the newest.
            func keys() async throws -> [String] {
                ((try await staff()["service_provider"] as? [String: Any])?["key_sha256"] as? [String: [String]])?["saml_signing"] ?? []
            }
            #expect(try await post(world, "/admin/security/sso/keys/saml_signing/rotate", [:]).status == 303)
            let rotated = try await keys()
            #expect(rotated.count == 2)
            let listed = try await world.call(.GET, "/admin/security/sso?done=rotated-saml_signing", principal: world.principal)
            #expect(listed.text.contains("A new SAML request signing key is in use") && listed.text.contains(">Retire the previous key</button>"))
            #expect(try await post(world, "/admin/security/sso/keys/saml_signing/retire", [:]).status == 303)
            #expect(try await keys() == [rotated[0]])
            #expect(try await post(world, "/admin/security/sso/keys/saml_signing/rotate", [:], csrf: "stale").status == 403)
            #expect(try await keys().count == 1)
            let keyEvents = try await Self.outbox(world)
            #expect(keyEvents.contains { $0.contains("sso_key.rotated") } && keyEvents.contains { $0.contains("sso_key.retired") })
        }
    }

    /// `/account/sessions`: where the user is signed in, this device marked; another device
    /// signed out on its own, or all but this one; never this device (the sign-out button does
    /// that), never another user's session; the session's token required.
    @Test func usersSeeTheirSessionsAndSignOutOtherDevices() async throws {
        try await OAuthWorld.with { world in
            let (principal, csrf, mine) = try await Self.signIn(world, email: "sam@acme.test", role: .agent)
            func signInAgain(_ email: String = "sam@acme.test") async throws -> String {
                let signedIn = try await world.call(.POST, "/auth/password", body: #"{"email":"\#(email)","password":"\#(OAuthWorld.password)"}"#,
                                                    contentType: "application/json", headers: [("User-Agent", "Second laptop")])
                #expect(signedIn.status == 200)
                return try #require(IdentityPagesTests.cookie("__Host-rampart_session", from: signedIn.headers[canonicalForm: "set-cookie"].map(String.init)))
            }
            func alive(_ session: String) async throws -> Bool {
                try await world.call(.POST, "/internal/v1/principal", body: #"{"tenant":"acme","session":"\#(session)","audience":"identity"}"#,
                                     contentType: "application/json").status == 200
            }
            func revokeActions(_ html: String) -> [String] {
                html.components(separatedBy: #"action="/account/sessions/"#).dropFirst().map { "/account/sessions/" + $0.prefix { $0 != "\"" } }
                    .filter { $0.hasSuffix("/revoke") }
            }
            let second = try await signInAgain()
            let page = try await world.call(.GET, "/account/sessions", principal: principal)
            #expect(page.status == 200 && page.text.components(separatedBy: "<strong>This device</strong>").count == 2 && page.text.contains("Second laptop"))
            let actions = revokeActions(page.text)
            #expect(actions.count == 1, "one other device")
            // The token is required; then that device is signed out, audited.
            #expect(try await world.call(.POST, try #require(actions.first), body: OAuthWorld.form([:]), principal: principal).status == 403)
            #expect(try await alive(second))
            let revoked = try await world.call(.POST, try #require(actions.first), body: OAuthWorld.form(["csrf_token": csrf]), principal: principal)
            #expect(revoked.status == 303 && revoked.headers.first(name: "location") == "/account/sessions?done=one")
            #expect(try await !alive(second))
            #expect(try await Self.outbox(world).contains { $0.contains("\"session.revoked\"") })

            // Not this device, not someone else's session: 404, nothing ended.
            let me = try await world.call(.GET, "/api/v1/me/sessions", principal: principal)
            let own = try #require((me.json["data"] as? [[String: Any]])?.first?["id"] as? String)
            #expect(try await world.call(.POST, "/account/sessions/\(own)/revoke", body: OAuthWorld.form(["csrf_token": csrf]), principal: principal).status == 404)
            let (otherPrincipal, _, otherSession) = try await Self.signIn(world, email: "olga@acme.test", role: .agent)
            let theirs = try #require(((try await world.call(.GET, "/api/v1/me/sessions", principal: otherPrincipal)).json["data"] as? [[String: Any]])?.first?["id"] as? String)
            #expect(try await world.call(.POST, "/account/sessions/\(theirs)/revoke", body: OAuthWorld.form(["csrf_token": csrf]), principal: principal).status == 404)
            #expect(try await alive(otherSession))

            // All other devices at once; this one stays.
            let third = try await signInAgain(), fourth = try await signInAgain()
            // Without the session's token, or with another one, nothing is signed out.
            for form in [[:], ["csrf_token": "forged-\(csrf)"]] {
                #expect(try await world.call(.POST, "/account/sessions/revoke-others", body: OAuthWorld.form(form), principal: principal).status == 403)
            }
            #expect(try await alive(third))
            #expect(try await alive(fourth))
            let others = try await world.call(.POST, "/account/sessions/revoke-others", body: OAuthWorld.form(["csrf_token": csrf]), principal: principal)
            #expect(others.status == 303)
            #expect(try await !alive(third))
            #expect(try await !alive(fourth))
            #expect(try await alive(mine), "this device stays signed in")
            #expect(others.headers.first(name: "location") == "/account/sessions?done=others")
            #expect(try await (world.call(.GET, "/account/sessions?done=others", principal: principal)).text.contains("Every other device was signed out."))
            #expect(try await Self.outbox(world).contains { $0.contains("session.revoked_others") })
            #expect(try await alive(otherSession), "another user's sessions are untouched")
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
