// swift-tools-version:6.1
import PackageDescription

/// The services, each declared the same way: `Services/<Name>/<Name>` is a library
/// with everything but `@main`, `Services/<Name>/<Name>Server` the thin executable.
let services: [(name: String, executable: String)] = [
    ("Gateway", "rampart-gateway"),
    ("Identity", "rampart-identity"),
    ("Tickets", "rampart-tickets"),
    ("Audit", "rampart-audit"),
    ("Backup", "rampart-backup"),
    ("Status", "rampart-status"),
]

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

/// Every service library sees the whole of `Shared`, never another service.
let sharedProducts: [Target.Dependency] = [
    "RampartCore", "RampartStorage", "RampartSecurity", "RampartTransport", "RampartWeb",
]

/// A library of `Shared/`, used by every service.
func sharedTarget(_ name: String, _ dependencies: [Target.Dependency], resources: [Resource]? = nil) -> Target {
    .target(name: name, dependencies: dependencies, path: "Shared/\(name)", resources: resources, swiftSettings: swiftSettings)
}

/// What a service needs beyond `Shared`: identity hashes passwords with the system libargon2;
/// the gateway terminates public TLS (SNI, NIO SSL) and proxies with AsyncHTTPClient; status
/// hashes its stylesheet and runs probe and replication loops.
let serviceExtras: [String: (dependencies: [Target.Dependency], resources: [Resource])] = [
    // SAML signatures are verified (and encrypted assertions decrypted) with the system libxmlsec1
    // (`CXMLSec`), never by hand; JWT SSO and OpenID Connect verify RSA with CryptoExtras; OpenID
    // Connect discovery, keys and the code exchange go over HTTPS with AsyncHTTPClient; a loop
    // sweeps the ID tokens of ended OpenID Connect sessions.
    "Identity": ([
        "CArgon2", "CXMLSec",
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "CryptoExtras", package: "swift-crypto"),
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
        // The self-signed certificates of each tenant's own SSO keys (SAML metadata, JWKS).
        .product(name: "X509", package: "swift-certificates"),
    ], [.copy("Resources/common-passwords.txt"), .copy("Resources/Templates")]),
    // The edge (TLS, HTTP/2, proxying over mTLS); the WAF and rate limiter read YAML from Deploy/.
    "Gateway": ([
        .product(name: "HummingbirdTLS", package: "hummingbird"),
        .product(name: "HummingbirdHTTP2", package: "hummingbird"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "NIOTLS", package: "swift-nio"),
        // The edge announces its HTTP/2 stream limit and refuses streams beyond it itself.
        .product(name: "NIOHTTP2", package: "swift-nio-http2"),
        .product(name: "NIOHTTPTypesHTTP2", package: "swift-nio-extras"),
        // HTTP/1.1 is served on the edge's own channel handler (EdgeHTTP1Handler), after NIO's codec.
        .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "X509", package: "swift-certificates"),
        .product(name: "Yams", package: "Yams"),
    ], []),
    // Status: the page's stylesheet hash (CSP) and its probe and replication loops.
    "Status": ([
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
    ], []),
    // Backup schedules pgBackRest runs; when it purges a tenant it calls the region's services,
    // signs the deletion certificate and hashes it for the erasure ledger.
    "Backup": ([
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
    ], []),
    // Tickets derives its search-index key (HKDF) and hashes tokens (HMAC), serves its OpenAPI
    // document and runs the retention sweep.
    "Tickets": ([
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
    ], [.copy("Resources/openapi.json"), .copy("Resources/Templates")]),
    // Audit renders its admin pages (the log viewer, alerts) with the shared kit.
    "Audit": ([], [.copy("Resources/Templates")]),
]

func serviceTargets(_ name: String, executable: String) -> [Target] {
    [
        .target(
            name: name,
            dependencies: sharedProducts + [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ] + (serviceExtras[name]?.dependencies ?? []),
            path: "Services/\(name)/\(name)",
            resources: serviceExtras[name]?.resources,
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "\(name)Server",
            dependencies: [.byName(name: name), "RampartTransport", "RampartCore"],
            path: "Services/\(name)/\(name)Server",
            swiftSettings: swiftSettings
        ),
    ]
}

let package = Package(
    name: "rampart",
    platforms: [.macOS(.v15)],
    products: services.map { .executable(name: $0.executable, targets: ["\($0.name)Server"]) } + [
        .executable(name: "rampartctl", targets: ["ControlCLI"]),
        .executable(name: "rampart-bench", targets: ["RampartBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", exact: "2.28.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", exact: "1.33.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", exact: "4.5.2"),
        .package(url: "https://github.com/apple/swift-nio.git", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", exact: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", exact: "1.46.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", exact: "1.35.2"),
        .package(url: "https://github.com/apple/swift-certificates.git", exact: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", exact: "1.7.4"),
        .package(url: "https://github.com/swift-server/async-http-client.git", exact: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", exact: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log.git", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", exact: "2.4.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", exact: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams.git", exact: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", exact: "2.1.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CArgon2",
            path: "Services/Identity/CArgon2",
            pkgConfig: "libargon2",
            providers: [.apt(["libargon2-dev"])]
        ),
        .systemLibrary(
            name: "CXMLSec",
            path: "Services/Identity/CXMLSec",
            pkgConfig: "xmlsec1-openssl",
            providers: [.apt(["libxmlsec1-dev"])]
        ),
        sharedTarget("RampartCore", [
            .product(name: "Logging", package: "swift-log"),
        ]),
        sharedTarget("RampartStorage", ["RampartCore"] + [
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        sharedTarget("RampartSecurity", ["RampartCore"] + [
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "SwiftASN1", package: "swift-asn1"),
        ]),
        sharedTarget("RampartTransport", ["RampartCore", "RampartStorage", "RampartSecurity"] + [
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Yams", package: "Yams"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // The pages' kit: layout, partials, stylesheet and script, security headers, forms and CSRF.
        sharedTarget("RampartWeb", ["RampartCore", "RampartSecurity"] + [
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Mustache", package: "swift-mustache"),
            .product(name: "Crypto", package: "swift-crypto"),
        ], resources: [.copy("Templates"), .copy("Assets")]),
        .target(
            name: "Control",
            dependencies: sharedProducts + [
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Services/Control/Control",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "ControlCLI",
            dependencies: ["Control"],
            path: "Services/Control/ControlCLI",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "RampartBench",
            // `tickets seed` writes through the tickets library's own sealing and search-token code.
            dependencies: ["RampartCore", "RampartSecurity", "RampartStorage", "RampartTransport", "Tickets",
                           .product(name: "ArgumentParser", package: "swift-argument-parser"),
                           .product(name: "AsyncHTTPClient", package: "async-http-client")],
            path: "Benchmarks/RampartBench",
            swiftSettings: swiftSettings
        ),
        // `make bench`: the WAF's CPU time per benign request, outside the test suite.
        .executableTarget(
            name: "GatewayWAFBench",
            dependencies: ["Gateway"],
            path: "Services/Gateway/GatewayWAFBench",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "EdgeFloorBench",
            dependencies: [
                .product(name: "NIOPosix", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            path: "Services/Gateway/EdgeFloorBench"
        ),
        .testTarget(
            name: "RampartTests",
            dependencies: sharedProducts + services.map { .byName(name: $0.name) } + [
                "Control",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                // The OpenID Connect provider the tests run serves HTTPS and signs with RSA.
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
            ],
            path: "Tests/RampartTests",
            exclude: ["Fixtures", "Web/browser_suite.py"],
            swiftSettings: swiftSettings
        ),
    ] + services.flatMap { serviceTargets($0.name, executable: $0.executable) }
)
