import Crypto
import Foundation
import Hummingbird
import RampartCore
import RampartSecurity
import RampartStorage
import RampartTransport
import RampartWeb

/// `rampart-identity`: tenants, users, roles, passwords, API keys and principal resolution
/// (sessions, TOTP, OAuth and single sign-on build on these).
public enum IdentityService {
    /// Prepares the runtime (configuration files, database, migrations) and builds the application.
    public static func buildApplication(_ config: ServiceConfig) async throws -> some ApplicationProtocol {
        let keys = try IdentityKeys(config: config)
        let runtime = try await ServiceRuntime.prepare(config: config, migrations: IdentityMigrations.all)
        guard let database = runtime.database else { throw ConfigError(key: "RAMPART_DATABASE_URL", reason: "is required") }
        let sweeper = OIDCSessionSweeper(database: database, tenants: TenantRepository(database: database, region: config.region), logger: runtime.logger)
        return try ServiceApplication.build(runtime: runtime, services: OutboxRelay.services(for: runtime) + [sweeper]) { router in
            try register(on: router, runtime: runtime, keys: keys)
        }
    }

    /// Identity's routes on `router`; tests mount the same routes.
    public static func register(on router: Router<ServiceRequestContext>, runtime: ServiceRuntime, keys: IdentityKeys) throws {
        guard let database = runtime.database else { throw ConfigError(key: "RAMPART_DATABASE_URL", reason: "is required") }
        let region = runtime.config.region
        let hasher = PasswordHasher(parameters: Argon2Parameters(
            memoryKiB: UInt32(runtime.config.argon2MemoryKiB), iterations: UInt32(runtime.config.argon2Iterations), parallelism: 1
        ))
        let gracePeriod = try runtime.config.source.value(
            "RAMPART_TENANT_GRACE_DAYS", default: TenantRepository.defaultGracePeriod, expected: "days a cancelled tenant is kept (0-3650)"
        ) { raw in Int(raw).flatMap { (0...3_650).contains($0) ? Duration.seconds($0 * 86_400) : nil } }
        let tenants = TenantRepository(database: database, region: region, keyring: keys.keyring, gracePeriod: gracePeriod)
        let users = UserRepository(database: database, region: region, hasher: hasher)
        let apiKeys = APIKeyRepository(database: database, region: region, hashKey: keys.apiKeyHashKey)
        let sessions = SessionRepository(database: database)
        let twoFactor = TwoFactorRepository(database: database, region: region, keyring: keys.keyring, codeHashKey: keys.apiKeyHashKey)
        let csrf = CSRFToken(key: keys.apiKeyHashKey)
        let pages = IdentityPages(templates: try WebTemplates(serviceDirectory: Bundle.module.url(forResource: "Templates", withExtension: nil)))
        // The product's stylesheet and script; the edge sends /assets/ to identity on every tenant host.
        pages.templates.assets.register(on: router)
        router.add(middleware: CSRFMiddleware(csrf: csrf, formRoutes: [
            "/login", "/login/totp", "/logout", "/oauth/authorize", "/account/password", "/account/two-factor", "/account/two-factor/confirm", "/invitation",
            // The IdP's cross-site POST: bound to the browser by its own cookie and the signed InResponseTo.
            "/auth/saml/acs",
        ], formPrefixes: [AdminPages.prefix, "/account/sessions/"]))
        let tokens = TokenRepository(database: database, region: region, hashKey: keys.apiKeyHashKey)
        let clients = OAuthClientRepository(database: database, region: region, hashKey: keys.apiKeyHashKey)
        OperatorRoutes(tenants: tenants, users: users, apiKeys: apiKeys, clients: clients).register(on: router)
        TenantLifecycleRoutes(tenants: tenants).register(on: router)
        TenantDirectoryRoutes(tenants: tenants).register(on: router)
        StaffDirectoryRoutes(users: users).register(on: router)
        let grants = OAuthGrants(database: database, region: region, hashKey: keys.apiKeyHashKey)
        PrincipalRoutes(issuer: PrincipalIssuer(tenants: tenants, apiKeys: apiKeys, sessions: sessions, tokens: tokens, signingKey: keys.signingKey, csrf: csrf),
                        csrf: csrf).register(on: router)
        OAuthRoutes(tenants: tenants, clients: clients, grants: grants, tokens: tokens, keySet: keys.signingKey.publicKeySet,
                    region: region, baseDomain: runtime.config.baseDomain).register(on: router)
        AuthorizeRoutes(tenants: tenants, users: users, clients: clients, grants: grants, csrf: csrf, pages: pages, region: region,
                        baseDomain: runtime.config.baseDomain).register(on: router)
        TokenRoutes(users: users, apiKeys: apiKeys, tokens: tokens).register(on: router)
        let credentialAdmin = CredentialAdminRoutes(users: users, apiKeys: apiKeys, clients: clients)
        credentialAdmin.register(on: router)
        SignInRoutes(tenants: tenants, signIn: PasswordSignIn(database: database, region: region, hasher: hasher, twoFactor: twoFactor),
                     region: region, baseDomain: runtime.config.baseDomain).register(on: router)
        let passwords = PasswordChange(database: database, region: region, hasher: hasher)
        TwoFactorRoutes(users: users, twoFactor: twoFactor, passwords: passwords, sessions: sessions).register(on: router)
        let securitySettings = SecuritySettingsRoutes(database: database, region: region)
        securitySettings.register(on: router)
        SignInPages(tenants: tenants, signIn: PasswordSignIn(database: database, region: region, hasher: hasher, twoFactor: twoFactor),
                    csrf: csrf, pages: pages, region: region, baseDomain: runtime.config.baseDomain).register(on: router)
        AccountPages(users: users, passwords: passwords, twoFactor: twoFactor, sessions: sessions, csrf: csrf, pages: pages).register(on: router)
        let invitations = InvitationRepository(database: database, region: region, hashKey: keys.apiKeyHashKey, hasher: hasher)
        let userAdmin = UserAdminRoutes(tenants: tenants, users: users, sessions: sessions, invitations: invitations, baseDomain: runtime.config.baseDomain)
        userAdmin.register(on: router)
        InvitationPages(tenants: tenants, invitations: invitations, csrf: csrf, pages: pages, region: region, baseDomain: runtime.config.baseDomain).register(on: router)
        let ssoConfigurations = SSOConfigurationRepository(database: database, region: region, keyring: keys.keyring)
        let oidcTrustRoots = try runtime.config.source.optional("RAMPART_OIDC_CA_FILE").map { _ in try runtime.config.source.readableFile("RAMPART_OIDC_CA_FILE") }
        let oidcSignIn = OIDCSignIn(database: database, region: region, configurations: ssoConfigurations,
                                    providers: OIDCProviderDirectory(trustRootsFile: oidcTrustRoots))
        MeRoutes(users: users, passwords: passwords, sessions: sessions, region: region, csrf: csrf, oidc: oidcSignIn, pages: pages,
                 baseDomain: runtime.config.baseDomain).register(on: router)
        SAMLRoutes(tenants: tenants, signIn: SAMLSignIn(database: database, region: region, configurations: ssoConfigurations), pages: pages,
                   region: region, baseDomain: runtime.config.baseDomain).register(on: router)
        JWTRoutes(tenants: tenants, signIn: JWTSignIn(database: database, region: region, configurations: ssoConfigurations), pages: pages,
                  region: region, baseDomain: runtime.config.baseDomain).register(on: router)
        OIDCRoutes(tenants: tenants, signIn: oidcSignIn, pages: pages, region: region, baseDomain: runtime.config.baseDomain).register(on: router)
        let ssoAdmin = SSOAdminRoutes(tenants: tenants, configurations: ssoConfigurations, region: region, baseDomain: runtime.config.baseDomain)
        ssoAdmin.register(on: router)
        AdminPages(pages: pages, users: users, apiKeys: apiKeys, clients: clients, userAdmin: userAdmin, settings: securitySettings,
                   credentials: credentialAdmin, sso: ssoAdmin).register(on: router)
    }
}

/// Identity's own secrets, read once at start.
public struct IdentityKeys: Sendable {
    public let signingKey: PrincipalSigningKey
    public let apiKeyHashKey: SymmetricKey
    /// Tenant data keys: created with each tenant, sealing TOTP secrets.
    public let keyring: TenantKeyring

    public init(signingKey: PrincipalSigningKey, apiKeyHashKey: SymmetricKey, keyring: TenantKeyring) {
        self.signingKey = signingKey
        self.apiKeyHashKey = apiKeyHashKey
        self.keyring = keyring
    }

    /// Loads both keys; a missing or malformed file names its key.
    public init(config: ServiceConfig) throws {
        guard let signingPath = config.principalSigningKeyPath else {
            throw ConfigError(key: "RAMPART_PRINCIPAL_SIGNING_KEY", reason: "is required for identity")
        }
        guard let hashPath = config.apiKeyHashKeyPath else {
            throw ConfigError(key: "RAMPART_API_KEY_HASH_KEY", reason: "is required for identity")
        }
        guard let signing = FileManager.default.contents(atPath: signingPath), let key = try? PrincipalSigningKey(fileContents: signing) else {
            throw ConfigError(key: "RAMPART_PRINCIPAL_SIGNING_KEY", reason: "is not a principal signing key file")
        }
        guard let hashText = FileManager.default.contents(atPath: hashPath).flatMap({ String(data: $0, encoding: .utf8) }),
              let hashKey = Data(base64Encoded: hashText.trimmingCharacters(in: .whitespacesAndNewlines)), hashKey.count == 32
        else {
            throw ConfigError(key: "RAMPART_API_KEY_HASH_KEY", reason: "must hold 32 bytes in base64")
        }
        self.init(signingKey: key, apiKeyHashKey: SymmetricKey(data: hashKey), keyring: try TenantKeyring.load(config: config))
    }
}
