import ArgumentParser
import Foundation
import RampartCore
import RampartStorage

/// `rampartctl local init`: everything a local installation needs besides PostgreSQL itself
/// and the processes: CA and certificates, keys, region databases, one configuration file per
/// service instance, and `endpoints.json`.
struct LocalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "local",
        abstract: "Prepare a local installation under one run directory.",
        subcommands: [Init.self, LocalSeedCommand.self]
    )

    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create or refresh PKI, keys, region databases, instance configuration and endpoints.json (idempotent).")

        @Option(help: "The run directory (absolute), for example .run in the checkout.") var runDir: String
        @Option(help: "The allow-list file.") var allowlist: String
        @Option(help: "File holding a superuser postgres:// URL.") var superuserUrlFile: String
        @Option(help: "Comma-separated regions.") var regions: String = "us,eu,uk"
        @Option(help: "Public base domain.") var baseDomain: String = "localhost"
        @Option(help: "First internal port; instance ports follow from it.") var basePort: Int = 9100
        @Option(help: "Public HTTPS port of the gateway.") var publicPort: Int = 8443
        @Option(help: "Plain-HTTP port of the gateway (redirects to HTTPS only).") var redirectPort: Int = 8080
        @Option(help: "The gateway's edge policy file (routes, limits, security.txt).") var edgePolicy: String?
        @Option(help: "pgBackRest configuration of the local cluster (Deploy/local/pgbackrest.sh prints it).") var pgbackrestConfig: String?
        @Option(help: "The local cluster's pgBackRest stanza.") var pgbackrestStanza: String = "local"

        func run() async throws {
            var installation = LocalInstallation(
                runDirectory: runDir, allowListPath: allowlist, regions: try parseRegions(regions),
                baseDomain: baseDomain, basePort: basePort, publicPort: publicPort
            )
            installation.redirectPort = redirectPort
            installation.edgePolicyPath = edgePolicy
            installation.backup = pgbackrestConfig.map { LocalInstallation.Backup(pgbackrestConfig: $0, stanza: pgbackrestStanza) }
            guard let urlText = SecretFile.read(superuserUrlFile) else { throw ControlError("cannot read \(superuserUrlFile)") }
            try await installation.prepare(superuser: try DatabaseURL(parsing: urlText, key: "--superuser-url-file"))
            print("local: ready in \(runDir)")
        }
    }
}

/// The layout of a local installation and the steps that prepare it.
public struct LocalInstallation {
    public let runDirectory: String
    public let allowListPath: String
    public let regions: [Region]
    public let baseDomain: String
    public let basePort: Int
    public let publicPort: Int
    /// The gateway's plain-HTTP port (redirects only).
    public var redirectPort: Int = 8080
    /// The gateway's edge policy; next to the allow-list's folder (`Deploy/gateway/edge.yaml`) when `nil`.
    public var edgePolicyPath: String?
    /// The local cluster's backups, when pgBackRest is set up for it.
    public var backup: Backup?

    /// One cluster holds every region's database locally, so one stanza backs them all up and
    /// the first region's backup instance alone schedules it (two schedulers would contend).
    public struct Backup: Sendable {
        public var pgbackrestConfig: String
        public var stanza: String
        /// The cluster's OS user, which pgBackRest runs as.
        public var osUser = "postgres"

        public init(pgbackrestConfig: String, stanza: String) {
            self.pgbackrestConfig = pgbackrestConfig
            self.stanza = stanza
        }
    }

    public init(runDirectory: String, allowListPath: String, regions: [Region], baseDomain: String, basePort: Int, publicPort: Int) {
        self.runDirectory = runDirectory
        self.allowListPath = allowListPath
        self.regions = regions
        self.baseDomain = baseDomain
        self.basePort = basePort
        self.publicPort = publicPort
    }

    func path(_ components: String...) -> String {
        components.reduce(URL(fileURLWithPath: runDirectory)) { $0.appendingPathComponent($1) }.path
    }

    /// The internal port of one instance: ten per region, one per service.
    public func port(of service: ServiceName, in region: Region) -> Int {
        let regionIndex = regions.firstIndex(of: region) ?? 0
        let serviceIndex = ServiceName.allCases.firstIndex(of: service) ?? 0
        return basePort + regionIndex * 10 + serviceIndex
    }

    public func prepare(superuser: DatabaseURL) async throws {
        try LocalPKI(directory: path("pki")).ensure(regions: regions, baseDomain: baseDomain, operatorName: "local")
        let keys = LocalKeys(directory: path("keys"))
        try keys.ensure()
        let databases = RegionDatabases(superuser: superuser, secretsDirectory: path("secrets", "db"))
        for region in regions {
            guard let database = SQLIdentifier("rampart_\(region)") else { throw ControlError("invalid region name") }
            try await databases.provision(region: region, database: database)
            for service in ServiceName.allCases {
                var lines = [
                    "# Generated by rampartctl local init; holds secrets (mode 0600).",
                    "RAMPART_REGION=\(region)",
                    "RAMPART_REGIONS=\(regions.map(\.rawValue).joined(separator: ","))",
                    "RAMPART_BASE_DOMAIN=\(baseDomain)",
                    "RAMPART_LISTEN_HOST=127.0.0.1",
                    "RAMPART_LISTEN_PORT=\(port(of: service, in: region))",
                    "RAMPART_TLS_CA=\(path("pki", "ca.crt"))",
                    "RAMPART_TLS_CERT=\(path("pki", "\(service)-\(region).crt"))",
                    "RAMPART_TLS_KEY=\(path("pki", "\(service)-\(region).key"))",
                    "RAMPART_ALLOWLIST=\(allowListPath)",
                    "RAMPART_PRINCIPAL_KEYS=\(keys.jwksPath)",
                    "RAMPART_KEK_FILE=\(keys.kekPath)",
                    "RAMPART_KEYSTORE_DIR=\(path("keystore", region.rawValue))",
                ]
                if service == .gateway, region == regions.first {
                    lines += publicEdgeLines()
                }
                if service == .backup, region == regions.first, let backup {
                    lines += [
                        "RAMPART_PGBACKREST_CONFIG=\(backup.pgbackrestConfig)",
                        "RAMPART_PGBACKREST_STANZA=\(backup.stanza)",
                        "RAMPART_PGBACKREST_USER=\(backup.osUser)",
                    ]
                }
                if service == .status {
                    // Every region's instances, probed by every status instance; the page's public address.
                    lines.append("RAMPART_STATUS_ENDPOINTS=\(path("endpoints.json"))")
                    lines.append("RAMPART_STATUS_PUBLIC_URL=https://status.\(baseDomain)\(publicPort == 443 ? "" : ":\(publicPort)")")
                }
                if service == .identity {
                    lines.append("RAMPART_PRINCIPAL_SIGNING_KEY=\(keys.signingKeyPath)")
                    lines.append("RAMPART_API_KEY_HASH_KEY=\(keys.apiKeyHashKeyPath)")
                }
                if service.hasOutbox {
                    lines.append("RAMPART_OUTBOX_DATABASE_URL=\(try databases.relayURL(service: service, region: region, database: database).urlString)")
                    lines.append("RAMPART_AUDIT_URL=https://127.0.0.1:\(port(of: .audit, in: region))")
                }
                if service == .audit {
                    lines.append("RAMPART_AUDIT_SIGNING_KEY=\(keys.auditSigningKeyPath)")
                }
                if service == .tickets || service == .audit {
                    // The staff directory: agents' and admins' names on the console's and the log's pages.
                    lines.append("RAMPART_IDENTITY_URL=https://127.0.0.1:\(port(of: .identity, in: region))")
                }
                if service == .backup {
                    // Tenant purges: the region's services, the certificate key, the ledger outside the databases.
                    lines.append("RAMPART_BACKUP_ENDPOINTS=\(path("endpoints.json"))")
                    lines.append("RAMPART_BACKUP_SIGNING_KEY=\(keys.deletionSigningKeyPath)")
                    lines.append("RAMPART_ERASURE_LEDGER=\(path("ledger", "\(region).jsonl"))")
                    lines.append("RAMPART_EXPORT_DIR=\(path("exports", region.rawValue))")
                }
                if service.ownsSchema {
                    lines.append("RAMPART_DATABASE_URL=\(try databases.url(service: service, region: region, database: database, owner: false).urlString)")
                    lines.append("RAMPART_MIGRATION_DATABASE_URL=\(try databases.url(service: service, region: region, database: database, owner: true).urlString)")
                }
                try SecretFile.write(lines.joined(separator: "\n") + "\n", to: path("config", "\(service)-\(region).env"))
            }
        }
        try SecretFile.writePublic(try endpointsJSON(), to: path("endpoints.json"))
        if let backup {
            try SecretFile.writePublic(try clustersJSON(backup), to: path("backup", "clusters.json"))
        }
    }

    /// `backup/clusters.json`: the cluster behind each region, for `rampartctl backup verify|restore`.
    func clustersJSON(_ backup: Backup) throws -> String {
        let document = ["regions": Dictionary(uniqueKeysWithValues: regions.map { region in
            (region.rawValue, [
                "pgbackrest_config": backup.pgbackrestConfig, "stanza": backup.stanza, "os_user": backup.osUser,
                "database": "rampart_\(region)", "erasure_ledger": path("ledger", "\(region).jsonl"),
            ])
        })]
        let data = try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// The public edge, run by the first region's gateway for every region on one port (one
    /// machine); it presents each region's own gateway certificate to that region's services.
    /// In production each region runs its own gateways, fronting that region only.
    func publicEdgeLines() -> [String] {
        let deploy = URL(fileURLWithPath: allowListPath).deletingLastPathComponent().deletingLastPathComponent()
        let policy = edgePolicyPath ?? deploy.appendingPathComponent("gateway/edge.yaml").path
        return [
            "RAMPART_PUBLIC_HOST=127.0.0.1",
            "RAMPART_PUBLIC_PORT=\(publicPort)",
            "RAMPART_PUBLIC_REDIRECT_PORT=\(redirectPort)",
            "RAMPART_PUBLIC_TLS_CERT=\(path("pki", "gateway-public.crt"))",
            "RAMPART_PUBLIC_TLS_KEY=\(path("pki", "gateway-public.key"))",
            "RAMPART_EDGE_POLICY=\(policy)",
            "RAMPART_UPSTREAMS=\(path("endpoints.json"))",
            "RAMPART_EDGE_REGIONS=\(regions.map(\.rawValue).joined(separator: ","))",
            "RAMPART_EDGE_PKI_DIR=\(path("pki"))",
            "RAMPART_WAF_RULES=\(deploy.appendingPathComponent("waf/rules.yaml").path)",
            "RAMPART_WAF_POLICY=\(deploy.appendingPathComponent("waf/policy.yaml").path)",
            "RAMPART_RATE_LIMITS=\(deploy.appendingPathComponent("gateway/rate-limits.yaml").path)",
        ]
    }

    /// `endpoints.json`: the public gateway, the base domain and every instance's internal URL.
    public func endpointsJSON() throws -> String {
        var regionMap: [String: [String: String]] = [:]
        for region in regions {
            regionMap[region.rawValue] = Dictionary(uniqueKeysWithValues: ServiceName.allCases.map {
                ($0.rawValue, "https://127.0.0.1:\(port(of: $0, in: region))")
            })
        }
        let document: [String: Any] = [
            "gateway": "https://127.0.0.1:\(publicPort)",
            "base_domain": baseDomain,
            "regions": regionMap,
        ]
        let data = try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
