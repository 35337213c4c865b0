import Foundation
import RampartCore
import Testing

@Suite("Configuration")
struct ConfigurationTests {
    let pki: TestPKI
    let base: [String: String]

    init() throws {
        pki = try TestPKI()
        let files = try pki.files(for: .service(.tickets, Region(rawValue: "eu")!))
        base = [
            "RAMPART_REGION": "eu", "RAMPART_LISTEN_PORT": "9102",
            "RAMPART_DATABASE_URL": "postgres://rampart_tickets_eu_app:s3cret-pass@127.0.0.1:5432/rampart_eu",
            "RAMPART_TLS_CA": files.caCertificatePath, "RAMPART_TLS_CERT": files.certificatePath, "RAMPART_TLS_KEY": files.privateKeyPath,
            "RAMPART_ALLOWLIST": RunningService.allowListPath, "RAMPART_PRINCIPAL_KEYS": files.caCertificatePath,
        ]
    }

    func load(_ changes: [String: String?]) throws -> ServiceConfig {
        var values = base
        for (key, value) in changes { values[key] = value }
        return try ServiceConfig(service: .tickets, source: ConfigSource(values: values))
    }

    @Test func validConfigurationLoadsWithDefaults() throws {
        let config = try load([:])
        #expect(config.regions == Region.defaults)
        #expect(config.region.rawValue == "eu")
        #expect(config.listenHost == "127.0.0.1")
        #expect(config.database?.username == "rampart_tickets_eu_app")
        #expect(config.logLevel == .info)
    }

    @Test(arguments: [
        ("RAMPART_REGION", nil), ("RAMPART_REGION", "mars-1"), ("RAMPART_REGION", "fr"),
        ("RAMPART_LISTEN_PORT", "0"), ("RAMPART_LISTEN_PORT", "http"), ("RAMPART_LISTEN_PORT", nil),
        ("RAMPART_DATABASE_URL", nil), ("RAMPART_DATABASE_URL", "mysql://x@y/z"), ("RAMPART_DATABASE_URL", "postgres://@host/db"),
        ("RAMPART_TLS_CERT", "/nonexistent.crt"), ("RAMPART_REGIONS", "us,,eu"), ("RAMPART_REGIONS", "us,us,eu"),
        ("RAMPART_LOG_LEVEL", "loud"), ("RAMPART_BASE_DOMAIN", "Bad Domain"), ("RAMPART_SHUTDOWN_GRACE_SECONDS", "-1"),
        ("RAMPART_AUDIT_URL", "http://127.0.0.1:9103"), ("RAMPART_IDENTITY_URL", "http://127.0.0.1:9101"), ("RAMPART_IDENTITY_URL", "identity:9101"),
    ] as [(String, String?)])
    func badOrMissingKeyIsNamedInTheError(_ key: String, _ value: String?) throws {
        let error = #expect(throws: ConfigError.self) { try load([key: value]) }
        #expect(error?.key == key)
    }

    /// Tickets' staff directory: identity's internal URL, optional (without it, pages show short ids).
    @Test func identityURLIsOptionalAndNormalized() throws {
        #expect(try load([:]).identityURL == nil)
        #expect(try load(["RAMPART_IDENTITY_URL": "https://127.0.0.1:9101/"]).identityURL == "https://127.0.0.1:9101")
        #expect(try load(["RAMPART_IDENTITY_URL": "https://identity:9443"]).identityURL == "https://identity:9443")
    }

    @Test func addingARegionIsConfigurationOnly() throws {
        let config = try load(["RAMPART_REGIONS": "us,eu,uk,ca", "RAMPART_REGION": "ca"])
        #expect(config.regions.map(\.rawValue) == ["us", "eu", "uk", "ca"])
    }

    @Test func errorsNeverRepeatTheDatabasePassword() throws {
        let error = #expect(throws: ConfigError.self) {
            try load(["RAMPART_DATABASE_URL": "postgres://app:hunter2-secret@host:5432/rampart_eu?sslmode=sometimes"])
        }
        #expect(error?.description.contains("hunter2") == false)
        let url = try DatabaseURL(parsing: "postgres://app:hunter2-secret@host:5432/rampart_eu", key: "K")
        #expect(!url.redacted.contains("hunter2"))
        #expect(try DatabaseURL(parsing: url.urlString, key: "K") == url)
    }

    @Test func fileValuesApplyAndEnvironmentWins() throws {
        let file = pki.directory.appendingPathComponent("tickets.env")
        try """
        # a comment
        RAMPART_REGION=uk
        RAMPART_LISTEN_PORT="9200"
        """.write(to: file, atomically: true, encoding: .utf8)
        var environment = base
        environment["RAMPART_REGION"] = nil
        environment["RAMPART_LISTEN_PORT"] = "9300"
        environment["RAMPART_CONFIG_FILE"] = file.path
        let config = try ServiceConfig.load(service: .tickets, environment: environment)
        #expect(config.region.rawValue == "uk")
        #expect(config.listenPort == 9300)
    }

    @Test func unknownKeyInTheFileIsRefused() throws {
        let file = pki.directory.appendingPathComponent("typo.env")
        try "RAMPART_LISTEN_PROT=9200\n".write(to: file, atomically: true, encoding: .utf8)
        let error = #expect(throws: ConfigError.self) {
            try ServiceConfig.load(service: .tickets, environment: base.merging(["RAMPART_CONFIG_FILE": file.path]) { $1 })
        }
        #expect(error?.key == "RAMPART_LISTEN_PROT")
    }

    @Test func gatewayNeedsNoDatabase() throws {
        var values = base
        values["RAMPART_DATABASE_URL"] = nil
        #expect(try ServiceConfig(service: .gateway, source: ConfigSource(values: values)).database == nil)
    }

    @Test(arguments: ["acme", "globex", "initech", "a-b-c"])
    func acceptsValidTenantSlugs(_ slug: String) {
        #expect(TenantSlug(rawValue: slug) != nil)
    }

    @Test(arguments: [
        ("ab", TenantSlug.Problem.length), (String(repeating: "a", count: 41), .length), ("Acme", .characters),
        ("-acme", .characters), ("ac--me", .characters), ("acme.eu", .characters), ("status", .reserved), ("www", .reserved), ("api", .reserved),
    ])
    func refusesInvalidTenantSlugs(_ slug: String, _ problem: TenantSlug.Problem) {
        guard case .failure(let found) = TenantSlug.validate(slug) else {
            Issue.record("\(slug) was accepted")
            return
        }
        #expect(found == problem)
    }
}
