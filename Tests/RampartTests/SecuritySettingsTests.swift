import Foundation
@testable import Identity
import PostgresNIO
import RampartCore
import Testing

@Suite("Identity: security settings, required second factor, role changes")
struct SecuritySettingsTests {
    func resolveSession(_ world: OAuthWorld, _ token: String) async throws -> (status: Int, json: [String: Any]) {
        let answer = try await world.call(.POST, "/internal/v1/principal", body: #"{"tenant":"acme","session":"\#(token)","audience":"identity"}"#, contentType: "application/json")
        return (answer.status, answer.json)
    }

    func signIn(_ world: OAuthWorld) async throws -> String {
        let answer = try await world.call(.POST, "/auth/password", body: #"{"email":"ada@acme.test","password":"\#(OAuthWorld.password)"}"#, contentType: "application/json")
        #expect(answer.status == 200, "\(answer.json)")
        return String((answer.headers.first(name: "set-cookie") ?? "").dropFirst("__Host-rampart_session=".count).prefix { $0 != ";" })
    }

    @Test func adminsReadAndChangeTheTenantsSettingsWithPreciseErrors() async throws {
        try await OAuthWorld.with { world in
            let session = [("X-CSRF-Token", world.csrf)]
            let defaults = try await world.call(.GET, "/api/v1/security/settings", principal: world.principal)
            #expect(defaults.status == 200)
            #expect((defaults.json["staff_password_policy"] as? [String: Any])?["minimum_length"] as? Int == 12)
            #expect(defaults.json["totp_required_roles"] as? [String] == [])

            let saved = try await world.call(.PUT, "/api/v1/security/settings", body: #"{"staff_password_policy":"pci","session_idle_minutes":30,"session_absolute_hours":8}"#,
                                             contentType: "application/json", principal: world.principal, headers: session)
            #expect(saved.status == 200, "\(saved.json)")
            let read = try await world.call(.GET, "/api/v1/security/settings", principal: world.principal)
            #expect((read.json["staff_password_policy"] as? [String: Any])?["history_depth"] as? Int == 4)
            #expect((read.json["staff_password_policy"] as? [String: Any])?["maximum_age_days"] as? Int == 90)
            #expect(read.json["session_idle_minutes"] as? Int == 30)

            // The PCI preset now applies to staff passwords: digits are required.
            let weak = try await world.call(.POST, "/api/v1/users", body: #"{"email":"bo@acme.test","name":"Bo","role":"agent","password":"lettersonlypassphrase"}"#,
                                            contentType: "application/json", principal: world.principal, headers: session)
            #expect(weak.status == 422)
            #expect(weak.json["code"] as? String == "password_policy")

            let cases: [(String, Int, String?)] = [
                (#"{"staff_password_policy":{"minimum_length":4,"maximum_length":64}}"#, 422, "staff_password_policy"),
                (#"{"session_idle_minutes":2}"#, 422, "session_idle_minutes"),
                (#"{"session_idle_minutes":600,"session_absolute_hours":1}"#, 422, "session_idle_minutes"),
                (#"{"totp_required_roles":["root"]}"#, 400, nil),
                (#"{"staff_password_policy":"lax"}"#, 400, nil),
            ]
            for (body, status, field) in cases {
                let refused = try await world.call(.PUT, "/api/v1/security/settings", body: body, contentType: "application/json", principal: world.principal, headers: session)
                #expect(refused.status == status, "\(body)")
                if let field { #expect((refused.json["errors"] as? [[String: Any]])?.first?["field"] as? String == field, "\(refused.json)") }
            }
            #expect(try await world.call(.GET, "/api/v1/security/settings", principal: world.principal).json["session_idle_minutes"] as? Int == 30)
        }
    }

    @Test func theSettingsCarryAnETagAndAChangeUnderAStaleIfMatchIsRefused() async throws {
        try await OAuthWorld.with { world in
            /// Status, problem or settings, and `ETag` of a `PUT`, or of a `GET` without a body.
            func put(_ body: String?, ifMatch: String?) async throws -> (status: Int, json: [String: Any], etag: String?) {
                var headers = [("X-CSRF-Token", world.csrf)]
                if let ifMatch { headers.append(("If-Match", ifMatch)) }
                let answer = try await world.call(body == nil ? .GET : .PUT, "/api/v1/security/settings", body: body, contentType: "application/json",
                                                  principal: world.principal, headers: headers)
                return (answer.status, answer.json, answer.headers.first(name: "etag"))
            }
            func read() async throws -> (status: Int, json: [String: Any], etag: String?) { try await put(nil, ifMatch: nil) }
            let first = try #require(try await read().etag)
            #expect(first.count > 2 && first.hasPrefix("\"") && first.hasSuffix("\""))

            let changed = try await put(#"{"session_idle_minutes":60}"#, ifMatch: first)
            #expect(changed.status == 200, "\(changed.json)")
            let second = try #require(changed.etag)
            #expect(second != first)
            #expect(try await read().etag == second)

            // A client still holding the first version changes nothing.
            let stale = try await put(#"{"session_idle_minutes":90}"#, ifMatch: first)
            #expect(stale.status == 412)
            #expect(stale.json["code"] as? String == "version_mismatch")
            #expect(try await read().json["session_idle_minutes"] as? Int == 60)
            // Malformed, or the current version named weakly: If-Match compares strongly
            // (RFC 9110 §13.1.1), so a weak tag never matches.
            for refused in ["abc", #""a" "b""#, "W/", "W/" + second, "*, " + second] {
                #expect(try await put(#"{"session_idle_minutes":90}"#, ifMatch: refused).status == 412, "\(refused)")
            }
            #expect(try await read().json["session_idle_minutes"] as? Int == 60)

            // A list naming the current version; any version; none: the change applies.
            #expect(try await put(#"{"session_idle_minutes":61}"#, ifMatch: first + ", " + second).status == 200)
            #expect(try await put(#"{"session_idle_minutes":62}"#, ifMatch: "*").status == 200)
            let unconditional = try await put(#"{"session_idle_minutes":60}"#, ifMatch: nil)
            #expect(unconditional.status == 200)
            // The version is the settings' content: the same settings again, the same version;
            // the same roles in another order or twice are the same settings.
            #expect(unconditional.etag == second)
            let roles = try await put(#"{"session_idle_minutes":60,"totp_required_roles":["agent","admin"]}"#, ifMatch: second)
            #expect(roles.status == 200)
            #expect(roles.json["totp_required_roles"] as? [String] == ["admin", "agent"])
            let again = try await put(#"{"session_idle_minutes":60,"totp_required_roles":["admin","agent","admin"]}"#, ifMatch: roles.etag)
            #expect(again.json["totp_required_roles"] as? [String] == ["admin", "agent"])
            #expect(again.etag == roles.etag)
        }
    }

    @Test func aChangeWaitsForOneStillInFlightAndKeepsWhatThatOneSaved() async throws {
        try await IdentityFixture.with { f in
            let acme = try await f.tenant("acme")
            @Sendable func update(_ connection: PostgresConnection, _ change: @escaping @Sendable (inout SecuritySettings) -> Void) async throws -> SecuritySettings {
                try await SecuritySettings.update(tenant: acme.id, region: acme.region, actor: IdentityFixture.operatorActor, requestID: nil,
                                                  on: connection, logger: f.database.logger) { stored in
                    var settings = stored
                    change(&settings)
                    return settings
                }
            }
            let (firstWrote, signal) = AsyncStream<Void>.makeStream()
            async let first: Void = f.database.withTenant(acme.id) { connection in
                _ = try await update(connection) { $0.staffPasswordPolicy.minimumLength = 14 }
                signal.yield()
                // Written, not yet committed: the second change must wait for it, not read past it
                // and write the old staff policy back.
                try await Task.sleep(for: .milliseconds(500))
            }
            var written = firstWrote.makeAsyncIterator()
            _ = await written.next()
            let second = try await f.database.withTenant(acme.id) { connection in
                try await update(connection) { $0.sessionIdleMinutes = 60 }
            }
            try await first
            #expect(second.staffPasswordPolicy.minimumLength == 14)
            let stored = try await f.database.withTenant(acme.id) { connection in
                try await SecuritySettings.load(tenant: acme.id, on: connection, logger: f.database.logger)
            }
            #expect(stored.staffPasswordPolicy.minimumLength == 14)
            #expect(stored.sessionIdleMinutes == 60)
        }
    }

    @Test func aRequiredSecondFactorLeavesAPasswordSessionOnlyEnrollmentWhichRotatesTheSession() async throws {
        try await OAuthWorld.with { world in
            let put = try await world.call(.PUT, "/api/v1/security/settings", body: #"{"totp_required_roles":["admin"]}"#, contentType: "application/json",
                                           principal: world.principal, headers: [("X-CSRF-Token", world.csrf)])
            #expect(put.status == 200)
            let token = try await signIn(world)
            let (status, resolved) = try await resolveSession(world, token)
            #expect(status == 200)
            #expect(resolved["scopes"] as? [String] == [])
            let principal = try #require(resolved["principal"] as? String)
            let csrf = try #require(resolved["csrf_token"] as? String)
            let me = try await world.call(.GET, "/api/v1/me", principal: principal)
            #expect(me.json["second_factor_enrollment_required"] as? Bool == true)
            #expect(me.json["roles"] as? [String] == [])
            #expect(try await world.call(.GET, "/api/v1/users", principal: principal).status == 403)

            let headers = [("X-CSRF-Token", csrf)]
            let enrolled = try await world.call(.POST, "/api/v1/me/totp", body: #"{"current_password":"\#(OAuthWorld.password)"}"#, contentType: "application/json",
                                                principal: principal, headers: headers)
            #expect(enrolled.status == 200)
            let totp = TOTP(secret: try #require(IdentityRoutesTests.base32Decode(enrolled.json["secret"] as? String ?? "")))
            let confirmed = try await world.call(.POST, "/api/v1/me/totp/confirm", body: #"{"code":"\#(totp.code(step: totp.step(at: .now)))"}"#,
                                                 contentType: "application/json", principal: principal, headers: headers)
            #expect(confirmed.status == 200)
            let cookie = try #require(confirmed.headers.first(name: "set-cookie"))
            let rotated = String(cookie.dropFirst("__Host-rampart_session=".count).prefix { $0 != ";" })
            #expect(rotated != token)
            #expect(try await resolveSession(world, token).status == 401)
            let (afterStatus, after) = try await resolveSession(world, rotated)
            #expect(afterStatus == 200)
            #expect((after["scopes"] as? [String])?.contains("users:write") == true)
        }
    }

    @Test func changingARoleEndsTheUsersSessionsAndNarrowsTheirKeys() async throws {
        try await OAuthWorld.with { world in
            let session = [("X-CSRF-Token", world.csrf)]
            let created = try await world.call(.POST, "/api/v1/users", body: #"{"email":"bo@acme.test","name":"Bo","role":"agent","password":"\#(OAuthWorld.password)"}"#,
                                               contentType: "application/json", principal: world.principal, headers: session)
            let userID = try #require((created.json["user"] as? [String: Any])?["id"] as? String)
            let key = try await world.call(.POST, "/api/v1/api-keys", body: #"{"user_id":"\#(userID)","name":"bo","scopes":["tickets:read","tickets:write"]}"#,
                                           contentType: "application/json", principal: world.principal, headers: session)
            let credential = try #require(key.json["key"] as? String)
            let signIn = try await world.call(.POST, "/auth/password", body: #"{"email":"bo@acme.test","password":"\#(OAuthWorld.password)"}"#, contentType: "application/json")
            let boSession = String((signIn.headers.first(name: "set-cookie") ?? "").dropFirst("__Host-rampart_session=".count).prefix { $0 != ";" })
            #expect(try await resolveSession(world, boSession).status == 200)

            let demoted = try await world.call(.POST, "/api/v1/users/\(userID)/role", body: #"{"role":"read_only_agent"}"#, contentType: "application/json",
                                               principal: world.principal, headers: session)
            #expect(demoted.status == 204)
            #expect(try await resolveSession(world, boSession).status == 401)
            let resolved = try await world.call(.POST, "/internal/v1/principal", body: #"{"tenant":"acme","credential":"\#(credential)","audience":"tickets"}"#, contentType: "application/json")
            #expect(resolved.json["scopes"] as? [String] == ["tickets:read"])
            let bad = try await world.call(.POST, "/api/v1/users/\(userID)/role", body: #"{"role":"emperor"}"#, contentType: "application/json", principal: world.principal, headers: session)
            #expect(bad.status == 400)
        }
    }
}
