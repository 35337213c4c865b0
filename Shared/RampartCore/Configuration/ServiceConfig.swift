import Foundation
import Logging

/// Everything a service instance needs to start, validated before anything else runs.
public struct ServiceConfig: Sendable {
    /// The service this process is.
    public var service: ServiceName
    /// The one region this instance serves.
    public var region: Region
    /// Every region of the installation.
    public var regions: [Region]
    /// The public base domain (`example.com` in `acme.eu.example.com`).
    public var baseDomain: String
    /// Internal listener address; internal addresses only, never the internet.
    public var listenHost: String
    public var listenPort: Int
    /// The region database, as the service's runtime role; `nil` for services without a schema.
    public var database: DatabaseURL?
    /// The region database as the schema's migration role; when set, migrations run at start.
    public var migrationDatabase: DatabaseURL?
    /// The region database as the outbox relay's role (services with an outbox); with
    /// ``auditURL`` it starts the relay that drains the outbox to audit.
    public var outboxDatabase: DatabaseURL?
    /// The region's audit service (`https://…`, internal), where the outbox relay delivers.
    public var auditURL: String?
    /// Tickets only: the region's identity service (`https://…`, internal), whose staff
    /// directory gives the agent console people's names; without it pages show short ids.
    public var identityURL: String?
    /// Audit only: the Ed25519 key that signs chain checkpoints (generated per install).
    public var auditSigningKeyPath: String?
    /// Internal CA certificate, this instance's certificate and key (PEM files).
    public var tls: TLSFiles
    /// The allow-list of service-to-service calls.
    public var allowListPath: String
    /// Public keys that verify forwarded principals (JWKS, Ed25519).
    public var principalKeysPath: String
    /// The key-encryption key file and the wrapped data-key store (outside the backed-up databases).
    public var keyEncryptionKeyPath: String?
    public var keyStorePath: String?
    /// Identity only: the Ed25519 key that signs principals, and the key of the API-key secret hash.
    public var principalSigningKeyPath: String?
    public var apiKeyHashKeyPath: String?
    /// Identity only: Argon2id cost (OWASP's 19 MiB, 2 passes by default; tests lower it).
    public var argon2MemoryKiB: Int
    public var argon2Iterations: Int
    /// Minimum log level.
    public var logLevel: Logger.Level
    /// How long in-flight requests may take to finish after SIGTERM.
    public var shutdownGracePeriod: Duration
    /// The validated source, for keys only one service reads (the gateway's public edge).
    public let source: ConfigSource

    /// Paths of the PEM files of the internal transport.
    public struct TLSFiles: Sendable {
        public var caCertificatePath: String
        public var certificatePath: String
        public var privateKeyPath: String

        public init(caCertificatePath: String, certificatePath: String, privateKeyPath: String) {
            self.caCertificatePath = caCertificatePath
            self.certificatePath = certificatePath
            self.privateKeyPath = privateKeyPath
        }
    }

    /// Every key a service reads; the configuration file may hold only these.
    public static let keys: Set<String> = Set([
        "RAMPART_REGION", "RAMPART_REGIONS", "RAMPART_BASE_DOMAIN",
        "RAMPART_LISTEN_HOST", "RAMPART_LISTEN_PORT",
        "RAMPART_DATABASE_URL", "RAMPART_MIGRATION_DATABASE_URL",
        "RAMPART_OUTBOX_DATABASE_URL", "RAMPART_AUDIT_URL", "RAMPART_IDENTITY_URL", "RAMPART_AUDIT_SIGNING_KEY", "RAMPART_AUDIT_GEOIP_DB",
        "RAMPART_TLS_CA", "RAMPART_TLS_CERT", "RAMPART_TLS_KEY",
        "RAMPART_ALLOWLIST", "RAMPART_PRINCIPAL_KEYS",
        "RAMPART_KEK_FILE", "RAMPART_KEYSTORE_DIR",
        "RAMPART_PRINCIPAL_SIGNING_KEY", "RAMPART_API_KEY_HASH_KEY",
        "RAMPART_ARGON2_MEMORY_KIB", "RAMPART_ARGON2_ITERATIONS", "RAMPART_TENANT_GRACE_DAYS",
        "RAMPART_OIDC_CA_FILE", "RAMPART_LOG_LEVEL", "RAMPART_SHUTDOWN_GRACE_SECONDS",
    ]).union(gatewayEdgeKeys).union(backupKeys).union(statusKeys)

    /// The gateway's public-edge keys; parsed by the gateway itself from ``source``.
    public static let gatewayEdgeKeys: Set<String> = [
        "RAMPART_PUBLIC_HOST", "RAMPART_PUBLIC_PORT", "RAMPART_PUBLIC_REDIRECT_PORT",
        "RAMPART_PUBLIC_TLS_CERT", "RAMPART_PUBLIC_TLS_KEY",
        "RAMPART_EDGE_POLICY", "RAMPART_UPSTREAMS", "RAMPART_EDGE_REGIONS", "RAMPART_EDGE_PKI_DIR",
        "RAMPART_WAF_RULES", "RAMPART_WAF_POLICY", "RAMPART_RATE_LIMITS",
    ]

    /// The backup service's keys (the cluster it backs up and the schedule); parsed by it from ``source``.
    public static let backupKeys: Set<String> = [
        "RAMPART_PGBACKREST_CONFIG", "RAMPART_PGBACKREST_STANZA", "RAMPART_PGBACKREST_USER",
        "RAMPART_BACKUP_FULL_HOURS", "RAMPART_BACKUP_DIFF_HOURS", "RAMPART_BACKUP_CHECK_SECONDS",
        "RAMPART_BACKUP_ENDPOINTS", "RAMPART_BACKUP_SIGNING_KEY", "RAMPART_ERASURE_LEDGER", "RAMPART_EXPORT_DIR", "RAMPART_EXPORT_DAYS",
    ]

    /// The status service's probe and page keys; parsed by the status service itself from ``source``.
    public static let statusKeys: Set<String> = [
        "RAMPART_STATUS_ENDPOINTS", "RAMPART_STATUS_PROBE_INTERVAL_SECONDS", "RAMPART_STATUS_LATENCY_THRESHOLD_MS",
        "RAMPART_STATUS_CONFIRMATIONS", "RAMPART_STATUS_PUBLIC_URL",
    ]

    /// Loads and validates the configuration of `service` from the environment and optional file.
    public static func load(
        service: ServiceName,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> ServiceConfig {
        let source = try ConfigSource.load(environment: environment, knownKeys: keys)
        return try ServiceConfig(service: service, source: source)
    }

    /// Validates `source` for `service`; the first problem found is thrown, naming its key.
    public init(service: ServiceName, source: ConfigSource) throws {
        self.service = service
        self.source = source
        regions = try source.value("RAMPART_REGIONS", default: Region.defaults, expected: "a comma-separated list of region names") { raw in
            let parsed = raw.split(separator: ",", omittingEmptySubsequences: false).map { Region(rawValue: $0.trimmingCharacters(in: .whitespaces)) }
            guard !parsed.isEmpty, parsed.allSatisfy({ $0 != nil }) else { return nil }
            let regions = parsed.compactMap { $0 }
            return Set(regions).count == regions.count ? regions : nil
        }
        region = try source.required("RAMPART_REGION", expected: "a region name such as eu") { Region(rawValue: $0) }
        guard regions.contains(region) else {
            throw ConfigError(key: "RAMPART_REGION", reason: "is not one of RAMPART_REGIONS")
        }
        baseDomain = try source.value("RAMPART_BASE_DOMAIN", default: "localhost", expected: "a DNS name") { raw in
            raw.range(of: #"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$"#, options: .regularExpression) != nil ? raw : nil
        }
        listenHost = source.optional("RAMPART_LISTEN_HOST") ?? "127.0.0.1"
        listenPort = try source.required("RAMPART_LISTEN_PORT", expected: "a TCP port (1-65535)") { raw in
            Int(raw).flatMap { (1...65535).contains($0) ? $0 : nil }
        }
        if service.ownsSchema {
            database = try DatabaseURL(parsing: try source.required("RAMPART_DATABASE_URL"), key: "RAMPART_DATABASE_URL")
            migrationDatabase = try source.optional("RAMPART_MIGRATION_DATABASE_URL").map {
                try DatabaseURL(parsing: $0, key: "RAMPART_MIGRATION_DATABASE_URL")
            }
        } else {
            database = nil
            migrationDatabase = nil
        }
        outboxDatabase = try source.optional("RAMPART_OUTBOX_DATABASE_URL").map {
            try DatabaseURL(parsing: $0, key: "RAMPART_OUTBOX_DATABASE_URL")
        }
        auditURL = try Self.internalURL(source, "RAMPART_AUDIT_URL", of: .audit)
        identityURL = try Self.internalURL(source, "RAMPART_IDENTITY_URL", of: .identity)
        auditSigningKeyPath = try source.optional("RAMPART_AUDIT_SIGNING_KEY").map { _ in try source.readableFile("RAMPART_AUDIT_SIGNING_KEY") }
        tls = TLSFiles(
            caCertificatePath: try source.readableFile("RAMPART_TLS_CA"),
            certificatePath: try source.readableFile("RAMPART_TLS_CERT"),
            privateKeyPath: try source.readableFile("RAMPART_TLS_KEY")
        )
        allowListPath = try source.readableFile("RAMPART_ALLOWLIST")
        principalKeysPath = try source.readableFile("RAMPART_PRINCIPAL_KEYS")
        keyEncryptionKeyPath = try source.optional("RAMPART_KEK_FILE").map { _ in try source.readableFile("RAMPART_KEK_FILE") }
        keyStorePath = source.optional("RAMPART_KEYSTORE_DIR")
        principalSigningKeyPath = try source.optional("RAMPART_PRINCIPAL_SIGNING_KEY").map { _ in try source.readableFile("RAMPART_PRINCIPAL_SIGNING_KEY") }
        apiKeyHashKeyPath = try source.optional("RAMPART_API_KEY_HASH_KEY").map { _ in try source.readableFile("RAMPART_API_KEY_HASH_KEY") }
        argon2MemoryKiB = try source.value("RAMPART_ARGON2_MEMORY_KIB", default: 19 * 1024, expected: "a whole number of KiB (8-1048576)") { raw in
            Int(raw).flatMap { (8...1_048_576).contains($0) ? $0 : nil }
        }
        argon2Iterations = try source.value("RAMPART_ARGON2_ITERATIONS", default: 2, expected: "a whole number of passes (1-10)") { raw in
            Int(raw).flatMap { (1...10).contains($0) ? $0 : nil }
        }
        logLevel = try source.value("RAMPART_LOG_LEVEL", default: .info, expected: "one of trace, debug, info, notice, warning, error, critical") {
            Logger.Level(rawValue: $0)
        }
        shutdownGracePeriod = try source.value("RAMPART_SHUTDOWN_GRACE_SECONDS", default: .seconds(25), expected: "a whole number of seconds (1-600)") { raw in
            Int(raw).flatMap { (1...600).contains($0) ? Duration.seconds($0) : nil }
        }
    }

    /// Another service's internal base URL under `key` (optional): `https://host[:port]`, no trailing `/`.
    private static func internalURL(_ source: ConfigSource, _ key: String, of service: ServiceName) throws -> String? {
        try source.optional(key).map { raw in
            guard raw.hasPrefix("https://"), URL(string: raw)?.host != nil else {
                throw ConfigError(key: key, reason: "must be an https:// URL of the \(service) service")
            }
            return raw.hasSuffix("/") ? String(raw.dropLast()) : raw
        }
    }
}
