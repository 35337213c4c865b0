import ArgumentParser
import AsyncHTTPClient
import Crypto
import NIOHTTP1
import Foundation
@testable import Control
@testable import Identity
import RampartCore
import RampartStorage
import Testing

/// SAML over identity's HTTP API, as the gateway forwards it: SP metadata, SP-initiated login
/// with its browser cookie, the ACS, and configuration by operators and tenant admins.
@Suite("SAML: metadata, login, ACS and configuration over HTTP", .serialized)
struct SAMLRoutesTests {
    static let idp = SAMLResponseTests.idp

    static func json(_ object: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    }

    /// Configures acme's staff SSO through the operator API, as `rampartctl sso set` does.
    static func configure(_ world: OAuthWorld, _ body: [String: Any]) async throws -> (Int, [String: Any]) {
        try await IdentityRoutesTests().send(world.pki, as: .operator("alice"), .POST,
                                             world.service.baseURL + "/internal/v1/operator/tenants/acme/sso/staff", json: try json(body))
    }

    /// The AuthnRequest inside an HTTP-Redirect URL (raw DEFLATE, inflated by Python's zlib).
    static func authnRequest(in location: String) throws -> String {
        let request = try #require(URLComponents(string: location)?.value("SAMLRequest"))
        let inflated = try SAMLTestIdP.run("/usr/bin/python3", ["-c", "import sys,zlib,base64; sys.stdout.write(zlib.decompress(base64.b64decode(sys.stdin.read()), -15).decode())"],
                                           input: Data(request.utf8))
        return String(decoding: inflated, as: UTF8.self)
    }

    static func cookie(_ name: String, _ headers: HTTPHeaders) -> String? {
        IdentityPagesTests.cookie(name, from: headers[canonicalForm: "set-cookie"].map(String.init))
    }

    /// `rampartctl`'s connection options as operator alice against this world's identity, and a
    /// folder for the files a command reads.
    static func commandLine(_ world: OAuthWorld) throws -> (directory: URL, connection: [String]) {
        let directory = world.pki.directory.appendingPathComponent("ctl-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let endpoints = directory.appendingPathComponent("endpoints.json")
        try JSONSerialization.data(withJSONObject: ["regions": ["eu": ["identity": world.service.baseURL]]]).write(to: endpoints)
        let tls = try world.pki.files(for: .operator("alice"))
        return (directory, ["--endpoints", endpoints.path, "--ca", tls.caCertificatePath, "--cert", tls.certificatePath, "--key", tls.privateKeyPath])
    }

    /// acme's staff audience as the operator API shows it (its `configuration`, `service_provider`, …).
    static func staff(_ world: OAuthWorld) async throws -> [String: Any] {
        let (status, listed) = try await IdentityRoutesTests().send(world.pki, as: .operator("alice"), .GET,
                                                                    world.service.baseURL + "/internal/v1/operator/tenants/acme/sso", json: nil)
        #expect(status == 200)
        return try #require((listed["data"] as? [[String: Any]])?.first)
    }

    @Test func spInitiatedSignInRunsFromLoginThroughTheACSAndRefusesAReplayGenerically() async throws {
        try await OAuthWorld.with { world in
            let (configured, _) = try await Self.configure(world, ["saml_metadata": Self.idp.metadataXML(), "group_roles": ["helpdesk-agents": "agent"]])
            #expect(configured == 200)

            let metadata = try await world.call(.GET, "/auth/saml/metadata")
            #expect(metadata.status == 200)
            #expect(metadata.text.contains(#"entityID="https://acme.eu.localhost:8443/auth/saml/metadata""#))
            #expect(metadata.text.contains(#"Location="https://acme.eu.localhost:8443/auth/saml/acs""#))

            let login = try await world.call(.GET, "/auth/saml/login?return_to=%2Ftickets%3Fview%3Dmine")
            #expect(login.status == 303)
            let location = try #require(login.headers.first(name: "location"))
            #expect(location.hasPrefix("https://idp.test/sso?SAMLRequest="))
            let request = try Self.authnRequest(in: location)
            #expect(request.contains(#"AssertionConsumerServiceURL="https://acme.eu.localhost:8443/auth/saml/acs""#))
            let idRange = try #require(request.range(of: #"ID="_[0-9a-f]{32}""#, options: .regularExpression))
            let requestID = String(request[idRange].dropFirst(4).dropLast())
            let browser = try #require(Self.cookie(SAMLRoutes.browserCookie, login.headers))
            #expect(login.headers[canonicalForm: "set-cookie"].contains { $0.contains("SameSite=None") && $0.contains("Secure") && $0.contains("HttpOnly") })

            var spec = SAMLResponseSpec()
            spec.inResponseTo = requestID
            // ada@acme.test already has a password account, which SSO never takes over.
            spec.attributes = [("email", ["sam@acme.test"]), ("groups", ["helpdesk-agents"])]
            let form = OAuthWorld.form(["SAMLResponse": Data(try spec.signed(by: Self.idp).utf8).base64EncodedString(), "RelayState": "ignored"])
            let done = try await world.call(.POST, "/auth/saml/acs", body: form, headers: [("Cookie", "\(SAMLRoutes.browserCookie)=\(browser)")])
            #expect(done.status == 303, "\(done.text)")
            #expect(done.headers.first(name: "location") == "/tickets?view=mine")
            let session = try #require(Self.cookie("__Host-rampart_session", done.headers))
            let (resolved, answer) = try await IdentityRoutesTests().send(world.pki, as: .service(.gateway, world.eu), .POST,
                                                                          world.service.baseURL + "/internal/v1/principal",
                                                                          json: #"{"tenant":"acme","session":"\#(session)","audience":"identity"}"#)
            #expect(resolved == 200)
            #expect(answer["principal"] is String)

            let replay = try await world.call(.POST, "/auth/saml/acs", body: form, headers: [("Cookie", "\(SAMLRoutes.browserCookie)=\(browser)")])
            #expect(replay.status == 401)
            #expect(replay.text.contains("Single sign-on did not succeed"))
            #expect(!replay.text.contains("consumed") && !replay.text.contains("replay"))
            #expect(Self.cookie("__Host-rampart_session", replay.headers) == nil)
        }
    }

    @Test func oversizedAndGarbageACSPostsGetTheSameGenericRefusal() async throws {
        try await OAuthWorld.with { world in
            _ = try await Self.configure(world, ["saml_metadata": Self.idp.metadataXML()])
            let huge = OAuthWorld.form(["SAMLResponse": String(repeating: "QUFB", count: 200_000)])
            for body in [huge, "SAMLResponse=%3Cnot-base64", "nothing=here"] {
                let answer = try await world.call(.POST, "/auth/saml/acs", body: body)
                #expect(answer.status == 401)
                #expect(answer.text.contains("Single sign-on did not succeed"))
            }
            #expect(try await world.call(.GET, "/auth/saml/login?audience=customers").status == 404)
        }
    }

    @Test func tenantAdminsConfigureSSOWithAPresetAndGetFieldErrorsForBadInput() async throws {
        try await OAuthWorld.with { world in
            let headers = [("X-CSRF-Token", world.csrf)]
            let body = try Self.json(["preset": "entra", "saml_metadata": Self.idp.metadataXML(), "sso_required_roles": ["agent"]])
            let saved = try await world.call(.PUT, "/api/v1/sso/staff", body: body, contentType: "application/json", principal: world.principal, headers: headers)
            #expect(saved.status == 200, "\(saved.text)")
            let configuration = try #require(saved.json["configuration"] as? [String: Any])
            let attributes = try #require(configuration["attributes"] as? [String: String])
            #expect(attributes["email"] == "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress")
            #expect((saved.json["certificate_sha256"] as? [String])?.first?.count == 64)

            let bad = try Self.json(["saml": ["entity_id": "", "sso_url": "http://idp.test/sso", "certificates": ["not a certificate"]],
                                     "group_roles": ["customers": "customer"]])
            let refused = try await world.call(.PUT, "/api/v1/sso/staff", body: bad, contentType: "application/json", principal: world.principal, headers: headers)
            #expect(refused.status == 422)
            let fields = Set(((refused.json["errors"] as? [[String: Any]]) ?? []).compactMap { $0["field"] as? String })
            #expect(fields.isSuperset(of: ["saml.entity_id", "saml.sso_url", "saml.certificates", "group_roles"]), "\(refused.text)")

            let listed = try await world.call(.GET, "/api/v1/sso", principal: world.principal)
            let audiences = ((listed.json["data"] as? [[String: Any]]) ?? []).compactMap { $0["audience"] as? String }
            #expect(audiences == ["staff", "customers"])
            // The failed attempt changed nothing.
            let staff = ((listed.json["data"] as? [[String: Any]])?.first?["configuration"] as? [String: Any])?["preset"] as? String
            #expect(staff == "entra")
        }
    }

    /// One audience's configuration has a version: `GET /api/v1/sso/{audience}` answers it as the
    /// `ETag` (the list shows it as `version`), and a `PUT` with `If-Match` applies only to it.
    @Test func aChangeUnderAStaleIfMatchIsRefusedAndChangesNothing() async throws {
        try await OAuthWorld.with { world in
            let headers = [("X-CSRF-Token", world.csrf)]
            func put(_ preset: String, ifMatch: String?) async throws -> AdminPagesTests.Answer {
                try await world.call(.PUT, "/api/v1/sso/staff", body: try Self.json(["preset": preset, "saml_metadata": Self.idp.metadataXML()]),
                                     contentType: "application/json", principal: world.principal, headers: headers + (ifMatch.map { [("If-Match", $0)] } ?? []))
            }
            let none = try await world.call(.GET, "/api/v1/sso/staff", principal: world.principal)
            #expect(none.status == 200 && (none.json["configuration"] == nil || none.json["configuration"] is NSNull))
            let first = try #require(none.headers.first(name: "etag"))
            #expect(first == "\"\(none.json["version"] as? String ?? "")\"" && first.count == 34)

            let created = try await put("okta", ifMatch: first)
            #expect(created.status == 200, "\(created.text)")
            let second = try #require(created.headers.first(name: "etag"))
            #expect(second != first)
            let listed = try await world.call(.GET, "/api/v1/sso", principal: world.principal)
            #expect((listed.json["data"] as? [[String: Any]])?.first.map { "\"\($0["version"] as? String ?? "")\"" } == second)

            // The version before, the current one named weakly, or a malformed tag: 412, nothing changed.
            for refused in [first, "W/" + second, "okta"] {
                let stale = try await put("entra", ifMatch: refused)
                #expect(stale.status == 412 && stale.json["code"] as? String == "version_mismatch", "\(refused): \(stale.text)")
            }
            let kept = try await world.call(.GET, "/api/v1/sso/staff", principal: world.principal)
            #expect(kept.headers.first(name: "etag") == second)
            #expect((kept.json["configuration"] as? [String: Any])?["preset"] as? String == "okta")
            #expect(try await put("entra", ifMatch: second).status == 200)
            #expect(try await world.call(.GET, "/api/v1/sso/nobody", principal: world.principal).status == 404)
        }
    }

    /// `rampartctl sso set|show` against the running identity: the options become the operator
    /// API's configuration, validated and audited like an admin's change.
    @Test func setImportsMetadataWithPresetMappingAndRolesAndShowReadsItBack() async throws {
        try await OAuthWorld.with { world in
            let (directory, connection) = try Self.commandLine(world)
            let metadata = directory.appendingPathComponent("idp.xml")
            try SAMLResponseTests.idp.metadataXML().write(to: metadata, atomically: true, encoding: .utf8)

            var set = try SSOCommand.SetConfiguration.parse(connection + [
                "--region", "eu", "--tenant", "acme", "--audience", "staff", "--preset", "okta", "--saml-metadata", metadata.path,
                "--group-role", "helpdesk-admins=admin", "--group-role", "helpdesk-agents=agent",
                "--sso-required-roles", "agent", "--break-glass-email", "ada@acme.test",
            ])
            try await set.run()
            var show = try SSOCommand.Show.parse(connection + ["--region", "eu", "--tenant", "acme"])
            try await show.run()

            let staff = try #require(try await Self.staff(world)["configuration"] as? [String: Any])
            #expect(staff["preset"] as? String == "okta")
            #expect((staff["saml"] as? [String: Any])?["entity_id"] as? String == SAMLResponseTests.idp.entityID)
            #expect(staff["group_roles"] as? [String: String] == ["helpdesk-admins": "admin", "helpdesk-agents": "agent"])
            #expect(staff["sso_required_roles"] as? [String] == ["agent"])
            #expect(staff["break_glass_email"] as? String == "ada@acme.test")
            #expect((staff["attributes"] as? [String: String])?["name"] == "displayName")

            // A role that is not a staff role is refused, and nothing changes.
            var bad = try SSOCommand.SetConfiguration.parse(connection + [
                "--region", "eu", "--tenant", "acme", "--saml-metadata", metadata.path, "--group-role", "buyers=customer",
            ])
            await #expect(throws: (any Error).self) { try await bad.run() }
            #expect((try await Self.staff(world)["configuration"] as? [String: Any])?["group_roles"] as? [String: String]
                    == ["helpdesk-admins": "admin", "helpdesk-agents": "agent"])
        }
    }

    /// `rampartctl sso set --oidc-…`: the client secret comes from a file, is sealed by identity and
    /// never shown again; the configuration keeps it when a later `set` names no secret file.
    @Test func setConfiguresOpenIDConnectWithASecretFromAFileThatIsNeverShown() async throws {
        try await OAuthWorld.with { world in
            let (directory, connection) = try Self.commandLine(world)
            let secretFile = directory.appendingPathComponent("client-secret.txt")
            let secret = "oidc client secret from a file"
            try (secret + "\n").write(to: secretFile, atomically: true, encoding: .utf8)
            let oidc = ["--region", "eu", "--tenant", "acme", "--preset", "okta", "--oidc-issuer", "https://acme.okta.example",
                        "--oidc-client-id", "0oa-rampart", "--group-role", "helpdesk-agents=agent"]
            var set = try SSOCommand.SetConfiguration.parse(connection + oidc + ["--oidc-client-secret-file", secretFile.path])
            try await set.run()
            // Again without the file (another scope list): the sealed secret stays.
            var again = try SSOCommand.SetConfiguration.parse(connection + oidc + ["--oidc-scopes", "openid,email,groups"])
            try await again.run()
            var orphan = try SSOCommand.SetConfiguration.parse(connection + ["--region", "eu", "--tenant", "acme", "--oidc-client-id", "x"])
            await #expect(throws: (any Error).self) { try await orphan.run() }

            let staff = try await Self.staff(world)
            let configured = try #require((staff["configuration"] as? [String: Any])?["oidc"] as? [String: Any])
            #expect(configured["issuer"] as? String == "https://acme.okta.example" && configured["client_id"] as? String == "0oa-rampart")
            #expect(configured["sealed_secret"] as? String == "set" && configured["scopes"] as? [String] == ["openid", "email", "groups"])
            #expect((configured["claims"] as? [String: String])?["groups"] == "groups")
            let redirectURI = try #require((staff["service_provider"] as? [String: Any])?["oidc_redirect_uri"] as? String)
            #expect(redirectURI.hasPrefix("https://acme.eu.") && redirectURI.hasSuffix("/auth/oidc/callback"))
            #expect(!String(decoding: try JSONSerialization.data(withJSONObject: staff), as: UTF8.self).contains(secret))
        }
    }

    /// `rampartctl sso set --jwt-…`: the HS256 secret comes from a file and signs a user in through
    /// `/auth/jwt`; ES256 takes the site's PEM public key. A missing, unreadable or empty secret
    /// file and an algorithm with the other kind of key are refused with a message naming the
    /// cause, and change nothing; neither `set` nor `show` ever prints the secret.
    @Test func setConfiguresJWTSSOFromFilesAndNeverShowsTheSecret() async throws {
        try await OAuthWorld.with { world in
            let (directory, connection) = try Self.commandLine(world)
            let secret = "a JWT SSO secret from a file, well over 32 bytes"
            let file = { (name: String, text: String) throws -> String in
                let url = directory.appendingPathComponent(name)
                try text.write(to: url, atomically: true, encoding: .utf8)
                return url.path
            }
            let secretFile = try file("jwt-secret.txt", secret + "\n"), emptyFile = try file("empty.txt", " \n")
            let p256 = P256.Signing.PrivateKey()
            let p256File = try file("site-p256.pem", p256.publicKey.pemRepresentation), rsaFile = try file("site-rsa.pem", JWTSSOTests.rsaPublicKey)
            let jwt = ["--region", "eu", "--tenant", "acme", "--jwt-issuer", "https://www.acme.test", "--jwt-audience", "rampart-acme",
                       "--group-role", "helpdesk-agents=agent"]
            let set = { (options: [String]) async throws -> String in try await SSOCommand.SetConfiguration.parse(connection + jwt + options).rendered() }
            // A token of the site for sam (a new user), signed by `sign` under `alg`; answers the sign-in's status and session cookie.
            let signIn = { (alg: String, sign: (Data) throws -> Data) async throws -> (Int, String?) in
                let claims = JWTSSOTests.claims { $0["sub"] = "site-user-sam"; $0["email"] = "sam@acme.test" }
                let answer = try await world.call(.GET, "/auth/jwt?jwt=\(try JWTSSOTests.token(header: ["alg": alg], claims: claims, sign: sign))&return_to=%2Ftickets")
                #expect(answer.status != 303 || answer.headers.first(name: "location") == "/tickets")
                return (answer.status, Self.cookie("__Host-rampart_session", answer.headers))
            }

            let saved = try await set(["--jwt-algorithm", "hs256", "--jwt-secret-file", secretFile])
            let shown = try await SSOCommand.Show.parse(connection + ["--region", "eu", "--tenant", "acme"]).rendered()
            for output in [saved, shown] {
                #expect(!output.contains(secret) && !output.contains(String(secret.prefix(16))))
                let staff = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
                let configured = try #require(((staff["data"] as? [[String: Any]])?.first ?? staff)["configuration"] as? [String: Any])
                #expect(configured["jwt"] as? [String: String] == ["issuer": "https://www.acme.test", "audience": "rampart-acme", "algorithm": "HS256",
                                                                    "sealed_secret": "set"])
            }
            let (hsStatus, hsSession) = try await signIn("HS256", JWTSSOTests.hs256(secret))
            #expect(hsStatus == 303 && hsSession != nil)
            #expect(try await signIn("HS256", JWTSSOTests.hs256("another secret of more than thirty-two bytes")).0 == 401)

            let before = OperatorClient.render(try await Self.staff(world))
            let refusals: [([String], String)] = [
                (["--jwt-algorithm", "HS256", "--jwt-secret-file", directory.appendingPathComponent("missing.txt").path], "does not exist"),
                (["--jwt-algorithm", "HS256", "--jwt-secret-file", directory.path], "is a folder"),
                (["--jwt-algorithm", "HS256", "--jwt-secret-file", emptyFile], "is empty"),
                (["--jwt-algorithm", "ES256", "--jwt-public-key-file", p256File, "--jwt-secret-file", secretFile], "jwt.shared_secret: is not used with ES256"),
                (["--jwt-algorithm", "HS256", "--jwt-secret-file", secretFile, "--jwt-public-key-file", p256File], "jwt.public_key: is not used with HS256"),
                (["--jwt-algorithm", "ES256", "--jwt-public-key-file", rsaFile], "jwt.public_key: must be a P-256 public key"),
                (["--jwt-algorithm", "RS256", "--jwt-public-key-file", p256File], "jwt.public_key: must be an RSA public key"),
                (["--jwt-algorithm", "ES256", "--jwt-public-key-file", secretFile], "jwt.public_key: must be a P-256 public key"),
            ]
            for (options, message) in refusals {
                do {
                    _ = try await set(options)
                    Issue.record("accepted \(options)")
                } catch {
                    #expect("\(error)".contains(message), "\(error)")
                    #expect(!"\(error)".contains(secret))
                }
            }
            await #expect(throws: ValidationError.self) { try await SSOCommand.SetConfiguration.parse(connection + ["--region", "eu", "--tenant", "acme",
                                                                                                                  "--jwt-secret-file", secretFile]).rendered() }
            #expect(OperatorClient.render(try await Self.staff(world)) == before)
            #expect(try await signIn("HS256", JWTSSOTests.hs256(secret)).0 == 303)

            _ = try await set(["--jwt-algorithm", "ES256", "--jwt-public-key-file", p256File])
            #expect(try await signIn("ES256") { try p256.signature(for: $0).rawRepresentation }.0 == 303)
            // Only the configured algorithm: the old secret signs nobody in any more.
            #expect(try await signIn("HS256", JWTSSOTests.hs256(secret)).0 == 401)

            // Two changes, each audited as the operator's like an admin's; the refusals wrote nothing.
            let events = try await AdminPagesTests.outbox(world).filter { $0.contains("\"sso_configuration.updated\"") }
            #expect(events.count == 2 && events.allSatisfy { $0.contains("\"operator\"") && !$0.contains(secret) })
        }
    }

    /// The certificate of `use` in SP metadata (the first, that is the newest).
    static func certificate(_ use: String, in metadata: String) throws -> String {
        let descriptor = try #require(metadata.range(of: #"<md:KeyDescriptor use="\#(use)">"#))
        let start = try #require(metadata.range(of: "<ds:X509Certificate>", range: descriptor.upperBound..<metadata.endIndex))
        let end = try #require(metadata.range(of: "</ds:X509Certificate>", range: start.upperBound..<metadata.endIndex))
        return String(metadata[start.upperBound..<end.lowerBound])
    }

    /// Whether `openssl` verifies an HTTP-Redirect signature (RSA-SHA256 over the raw
    /// `SAMLRequest=…&RelayState=…&SigAlg=…`) with the public key of `certificate`.
    static func opensslVerifies(query: String, certificate: String, in directory: URL) throws -> Bool {
        let fields = query.split(separator: "&").map { $0.split(separator: "=", maxSplits: 1).map(String.init) }
        let signed = fields.filter { $0[0] != "Signature" }.map { $0.joined(separator: "=") }.joined(separator: "&")
        let signature = try #require(fields.first { $0[0] == "Signature" }?[1].removingPercentEncoding.flatMap { Data(base64Encoded: $0) })
        let (data, sig, cert, key) = (directory.appendingPathComponent("signed.txt"), directory.appendingPathComponent("sig.bin"),
                                      directory.appendingPathComponent("sp.crt"), directory.appendingPathComponent("sp.pub"))
        try Data(signed.utf8).write(to: data)
        try signature.write(to: sig)
        try (SAMLCertificate.pem(base64DER: certificate) ?? "").write(to: cert, atomically: true, encoding: .utf8)
        try SAMLTestIdP.run("/usr/bin/openssl", ["x509", "-in", cert.path, "-pubkey", "-noout", "-out", key.path])
        let result = try Subprocess("/usr/bin/openssl", ["dgst", "-sha256", "-verify", key.path, "-signature", sig.path, data.path]).runHere()
        return result.status == 0 && String(decoding: result.outputData, as: UTF8.self).contains("Verified OK")
    }

    /// Signed AuthnRequests verified by `openssl` against the metadata's signing certificate, and
    /// an assertion encrypted to the metadata's encryption certificate signing in through the ACS
    /// when the tenant requires encryption (a plain one is then refused); keys rotate by `rampartctl`.
    @Test func signedRequestsVerifyWithTheMetadataCertificateAndEncryptedAssertionsSignIn() async throws {
        try await OAuthWorld.with { world in
            let (configured, _) = try await Self.configure(world, [
                "saml_metadata": Self.idp.metadataXML(), "group_roles": ["helpdesk-agents": "agent"],
                "saml": ["sign_authn_requests": true, "require_encrypted_assertions": true],
            ])
            #expect(configured == 200)
            let metadata = try await world.call(.GET, "/auth/saml/metadata")
            #expect(metadata.text.contains(#"AuthnRequestsSigned="true""#))
            #expect(metadata.text.contains(#"<md:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"/>"#))
            let signing = try Self.certificate("signing", in: metadata.text), encryption = try Self.certificate("encryption", in: metadata.text)
            #expect(signing != encryption)
            // The metadata is stable: the keys were made once.
            #expect(try await world.call(.GET, "/auth/saml/metadata").text == metadata.text)

            let login = try await world.call(.GET, "/auth/saml/login?return_to=%2Ftickets")
            let location = try #require(login.headers.first(name: "location"))
            let query = String(try #require(location.split(separator: "?", maxSplits: 1).last))
            #expect(query.contains("&SigAlg=http%3A%2F%2Fwww.w3.org%2F2001%2F04%2Fxmldsig-more%23rsa-sha256&Signature="))
            let directory = world.pki.directory.appendingPathComponent("redirect-\(UUID().uuidString.prefix(6))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            #expect(try Self.opensslVerifies(query: query, certificate: signing, in: directory))
            // The same signature over a changed RelayState, or checked with the encryption certificate, does not verify.
            #expect(try !Self.opensslVerifies(query: query.replacingOccurrences(of: "RelayState=%2Ftickets", with: "RelayState=%2Fadmin"),
                                              certificate: signing, in: directory))
            #expect(try !Self.opensslVerifies(query: query, certificate: encryption, in: directory))

            let request = try Self.authnRequest(in: location)
            let idRange = try #require(request.range(of: #"ID="_[0-9a-f]{32}""#, options: .regularExpression))
            var spec = SAMLResponseSpec()
            spec.inResponseTo = String(request[idRange].dropFirst(4).dropLast())
            spec.attributes = [("email", ["enc@acme.test"]), ("groups", ["helpdesk-agents"])]
            let browser = try #require(Self.cookie(SAMLRoutes.browserCookie, login.headers))
            let cookie = [("Cookie", "\(SAMLRoutes.browserCookie)=\(browser)")]
            // A plain signed assertion is refused when encryption is required (and the request survives it).
            let plain = OAuthWorld.form(["SAMLResponse": Data(try spec.signed(by: Self.idp).utf8).base64EncodedString()])
            #expect(try await world.call(.POST, "/auth/saml/acs", body: plain, headers: cookie).status == 401)
            let encrypted = OAuthWorld.form(["SAMLResponse": Data(try SAMLEncryptionTests.encryptedResponse(spec, toCertificate: encryption).utf8)
                .base64EncodedString()])
            let done = try await world.call(.POST, "/auth/saml/acs", body: encrypted, headers: cookie)
            #expect(done.status == 303, "\(done.text)")
            #expect(done.headers.first(name: "location") == "/tickets" && Self.cookie("__Host-rampart_session", done.headers) != nil)

            // rampartctl sso rotate-key: a new encryption certificate first, the old one still published and still decrypting.
            let connection = try Self.commandLine(world).connection + ["--region", "eu", "--tenant", "acme"]
            var rotate = try SSOCommand.RotateKey.parse(connection + ["--use", "saml_encryption"])
            try await rotate.run()
            let rotated = try await world.call(.GET, "/auth/saml/metadata").text
            #expect(try Self.certificate("encryption", in: rotated) != encryption)
            #expect(rotated.components(separatedBy: #"use="encryption""#).count == 3 && rotated.contains(encryption))
            let again = try await world.call(.GET, "/auth/saml/login?return_to=%2F")
            let againRequest = try Self.authnRequest(in: try #require(again.headers.first(name: "location")))
            let againID = try #require(againRequest.range(of: #"ID="_[0-9a-f]{32}""#, options: .regularExpression))
            spec.inResponseTo = String(againRequest[againID].dropFirst(4).dropLast())
            spec.assertionID = "_a" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
            let toOld = OAuthWorld.form(["SAMLResponse": Data(try SAMLEncryptionTests.encryptedResponse(spec, toCertificate: encryption).utf8)
                .base64EncodedString()])
            let againCookie = [("Cookie", "\(SAMLRoutes.browserCookie)=\(try #require(Self.cookie(SAMLRoutes.browserCookie, again.headers)))")]
            #expect(try await world.call(.POST, "/auth/saml/acs", body: toOld, headers: againCookie).status == 303)
            // Retiring the previous key ends the rollover: only the new certificate is published.
            var retire = try SSOCommand.RotateKey.parse(connection + ["--use", "saml_encryption", "--retire-previous"])
            try await retire.run()
            #expect(!(try await world.call(.GET, "/auth/saml/metadata").text.contains(encryption)))
            var unknown = try SSOCommand.RotateKey.parse(connection + ["--use", "everything"])
            await #expect(throws: (any Error).self) { try await unknown.run() }

            // The private_key_jwt JWKS of the tenant host: public RSA keys only.
            let jwks = try await world.call(.GET, "/auth/oidc/jwks")
            #expect(jwks.status == 200 && jwks.text.contains(#""kty":"RSA""#) && !jwks.text.contains(#""d":"#))
        }
    }
}
