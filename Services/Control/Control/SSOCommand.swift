import ArgumentParser
import Foundation

/// `rampartctl sso set|show`: a tenant's single sign-on, through identity's operator API (the
/// same validation and audit events as the admin API).
struct SSOCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sso",
        abstract: "Configure a tenant's single sign-on (SAML 2.0, JWT SSO, OpenID Connect) for staff or customers, and rotate its own SSO keys.",
        subcommands: [SetConfiguration.self, Show.self, RotateKey.self]
    )

    struct SetConfiguration: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set", abstract: "Set (replace) one audience's SSO configuration.")
        @OptionGroup var operatorOptions: OperatorOptions
        @Option(help: "Region.") var region: String
        @Option(help: "Tenant slug.") var tenant: String
        @Option(help: "staff or customers.") var audience: String = "staff"
        @Option(help: "okta, onelogin, entra or custom (fills in attribute names and MFA signals).") var preset: String = "custom"
        @Option(help: "The IdP's SAML metadata XML file.") var samlMetadata: String?
        @Option(help: "IdP entity id (without --saml-metadata).") var samlEntityId: String?
        @Option(help: "IdP SSO URL for HTTP-Redirect (without --saml-metadata).") var samlSsoUrl: String?
        @Option(help: "IdP signing certificate file (PEM); repeat for a rollover.") var samlCertificate: [String] = []
        @Flag(help: "Accept RSA-SHA1 signatures (legacy IdPs only).") var samlAllowSha1 = false
        @Flag(help: "Accept IdP-initiated (unsolicited) responses.") var samlAllowIdpInitiated = false
        @Flag(help: "Refuse assertions that are not encrypted to the tenant's encryption certificate.") var samlRequireEncryptedAssertions = false
        @Flag(help: "Sign AuthnRequests with the tenant's SAML signing key (RSA-SHA256).") var samlSignRequests = false
        @Option(help: "JWT SSO: the issuer (iss) the tenant's site puts in its tokens.") var jwtIssuer: String?
        @Option(help: "JWT SSO: the audience (aud) its tokens must name.") var jwtAudience: String?
        @Option(help: "JWT SSO: HS256, RS256 or ES256, the only algorithm accepted.") var jwtAlgorithm: String?
        @Option(help: "JWT SSO, HS256: file holding the shared secret, 32 to 1024 bytes (sealed by identity, never shown again; omitted: the stored one stays).")
        var jwtSecretFile: String?
        @Option(help: "JWT SSO, RS256 or ES256: the site's public key file (PEM).") var jwtPublicKeyFile: String?
        @Option(help: "OpenID Connect issuer (https; its discovery document must name exactly this issuer).") var oidcIssuer: String?
        @Option(help: "OpenID Connect client id.") var oidcClientId: String?
        @Option(help: "File holding the OpenID Connect client secret (sealed by identity, never shown again; omitted: the stored one stays).")
        var oidcClientSecretFile: String?
        @Option(help: "client_secret_basic (default), client_secret_post, or private_key_jwt (the tenant's own key; no secret).")
        var oidcClientAuth: String?
        @Option(help: "prompt for every sign-in: login, consent, select_account (space-separated), or none.") var oidcPrompt: String?
        @Option(help: "max_age in seconds: the provider's authentication may be at most that old.") var oidcMaxAge: Int?
        @Flag(help: "Also read email, name and groups from the UserInfo endpoint.") var oidcUserinfo = false
        @Flag(help: "Sign users out at the provider too (RP-initiated logout).") var oidcLogout = false
        @Option(help: "Scopes to request (comma-separated; default: the preset's).") var oidcScopes: String?
        @Option(help: "group=role mapping for just-in-time provisioning; repeatable.") var groupRole: [String] = []
        @Option(help: "Role of provisioned users whose groups map to none.") var defaultRole: String?
        @Flag(inversion: .prefixedNo, help: "Create users on their first sign-in.") var jitProvisioning = true
        @Option(help: "Roles that may not sign in with a password (comma-separated).") var ssoRequiredRoles: String?
        @Option(help: "Roles whose TOTP requirement the IdP's MFA satisfies (comma-separated).") var idpSecondFactorRoles: String?
        @Option(help: "The one account that may still use a password when its role requires SSO.") var breakGlassEmail: String?

        func run() async throws {
            print(try await rendered())
        }

        /// What `run` prints: the saved configuration as identity answers it (secrets only as "set").
        func rendered() async throws -> String {
            var body: [String: Any] = ["preset": preset, "jit_provisioning": jitProvisioning]
            let samlOptions: [String: Any] = ["allow_sha1": samlAllowSha1, "allow_idp_initiated": samlAllowIdpInitiated,
                                              "require_encrypted_assertions": samlRequireEncryptedAssertions, "sign_authn_requests": samlSignRequests]
            if let samlMetadata {
                body["saml_metadata"] = try OperatorFile.text(samlMetadata, option: "--saml-metadata")
                body["saml"] = samlOptions
            } else if samlEntityId != nil || samlSsoUrl != nil || !samlCertificate.isEmpty {
                var saml = samlOptions
                saml["entity_id"] = samlEntityId
                saml["sso_url"] = samlSsoUrl
                saml["certificates"] = try samlCertificate.map { try OperatorFile.text($0, option: "--saml-certificate") }
                body["saml"] = saml
            }
            if let jwt = try jwtBody() { body["jwt"] = jwt }
            if let oidc = try oidcBody() { body["oidc"] = oidc }
            var mapping: [String: String] = [:]
            for pair in groupRole {
                let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2 else { throw ValidationError("--group-role takes group=role") }
                mapping[parts[0]] = parts[1]
            }
            body["group_roles"] = mapping
            body["default_role"] = defaultRole
            body["sso_required_roles"] = ssoRequiredRoles.map(Self.list)
            body["idp_second_factor_roles"] = idpSecondFactorRoles.map(Self.list)
            body["break_glass_email"] = breakGlassEmail
            return OperatorClient.render(try await OperatorClient.call(operatorOptions, .POST, .identity, region: region,
                                                                       path: "/internal/v1/operator/tenants/\(tenant)/sso/\(audience)", body: body))
        }

        /// The `jwt` object, or `nil` without `--jwt-issuer`. Identity checks it like an admin's
        /// (an algorithm with the other kind of key is refused there); the secret is read from a
        /// file so it never appears in a command line or shell history.
        func jwtBody() throws -> [String: Any]? {
            guard let jwtIssuer else {
                guard jwtAudience == nil, jwtAlgorithm == nil, jwtSecretFile == nil, jwtPublicKeyFile == nil else {
                    throw ValidationError("--jwt-audience, --jwt-algorithm, --jwt-secret-file and --jwt-public-key-file need --jwt-issuer")
                }
                return nil
            }
            guard let jwtAudience, let jwtAlgorithm else { throw ValidationError("--jwt-issuer needs --jwt-audience and --jwt-algorithm") }
            var jwt: [String: Any] = ["issuer": jwtIssuer, "audience": jwtAudience, "algorithm": jwtAlgorithm.uppercased()]
            jwt["shared_secret"] = try jwtSecretFile.map { try OperatorFile.text($0, option: "--jwt-secret-file") }
            jwt["public_key"] = try jwtPublicKeyFile.map { try OperatorFile.text($0, option: "--jwt-public-key-file") }
            return jwt
        }

        /// The `oidc` object, or `nil` without `--oidc-issuer`. The secret is read from a file so it
        /// never appears in a command line or shell history.
        func oidcBody() throws -> [String: Any]? {
            guard let oidcIssuer else {
                guard oidcClientId == nil, oidcClientSecretFile == nil else { throw ValidationError("--oidc-client-id and --oidc-client-secret-file need --oidc-issuer") }
                return nil
            }
            guard let oidcClientId else { throw ValidationError("--oidc-issuer needs --oidc-client-id") }
            var oidc: [String: Any] = ["issuer": oidcIssuer, "client_id": oidcClientId]
            oidc["client_secret"] = try oidcClientSecretFile.map { try OperatorFile.text($0, option: "--oidc-client-secret-file") }
            oidc["client_authentication"] = oidcClientAuth
            oidc["scopes"] = oidcScopes.map(Self.list)
            oidc["prompt"] = oidcPrompt
            oidc["max_age"] = oidcMaxAge
            oidc["userinfo"] = oidcUserinfo
            oidc["logout"] = oidcLogout
            return oidc
        }

        static func list(_ text: String) -> [String] {
            text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
    }

    struct RotateKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-key",
            abstract: "Add a new current SSO key of the tenant (the previous one stays for the rollover), or retire the previous one."
        )
        @OptionGroup var operatorOptions: OperatorOptions
        @Option(help: "Region.") var region: String
        @Option(help: "Tenant slug.") var tenant: String
        @Option(help: "saml_encryption, saml_signing or oidc_client.") var use: String
        @Flag(help: "End the rollover: keep only the newest key.") var retirePrevious = false

        func run() async throws {
            let action = retirePrevious ? "retire" : "rotate"
            print(OperatorClient.render(try await OperatorClient.call(operatorOptions, .POST, .identity, region: region,
                                                                      path: "/internal/v1/operator/tenants/\(tenant)/sso/keys/\(use)/\(action)", body: [:])))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show both audiences' SSO configuration and what to give the IdP.")
        @OptionGroup var operatorOptions: OperatorOptions
        @Option(help: "Region.") var region: String
        @Option(help: "Tenant slug.") var tenant: String

        func run() async throws {
            print(try await rendered())
        }

        /// What `run` prints: both audiences as identity answers them (secrets only as "set").
        func rendered() async throws -> String {
            OperatorClient.render(try await OperatorClient.call(operatorOptions, .GET, .identity, region: region,
                                                                path: "/internal/v1/operator/tenants/\(tenant)/sso"))
        }
    }
}
