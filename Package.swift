// swift-tools-version:6.1
import PackageDescription

/// One settings array for every target (see Hummingbird's Package.swift).
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "Suifang",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "suifang", targets: ["node"]),
        .executable(name: "suifang-fuzz", targets: ["SuifangFuzz"]),
        .library(name: "Replica", targets: ["Replica"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.0"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"])]
        ),
        .systemLibrary(
            name: "CZlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // glibc's malloc tuning (large blocks mapped on their own: see Suifang.mapLargeAllocations).
        .systemLibrary(name: "CMalloc"),
        // The one home of libsodium: initialised once, return codes checked, secrets wiped.
        .target(
            name: "Sodium",
            dependencies: ["CSodium"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Replica",
            dependencies: [
                "Sodium",
                "CZlib",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SyncProtocol",
            dependencies: [
                "Replica",
                "Sodium",
                "CMalloc",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // HL7 v2 as hospitals send it: MLLP framing, character sets, parsing, acknowledgements.
        .target(
            name: "HL7",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CRMDomain",
            dependencies: [
                "HL7",
                "Replica",
                "Sodium",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        // The node runtime: its data directory and configuration, the replica and identity it
        // opens, the sync listener and connector, and the services a running node keeps.
        .target(
            name: "NodeRuntime",
            dependencies: [
                "HL7",
                "Sodium",
                "Replica",
                "SyncProtocol",
                "CRMDomain",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                // The hospital CA and the nodes' HTTPS certificates.
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                // Kannel's HTTP interface.
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                // `/metrics`: counters through swift-metrics, exported by swift-prometheus.
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        // `serve --archive postgres://…`: central's merged rows mirrored into a hospital group's PostgreSQL.
        .target(
            name: "Archive",
            dependencies: [
                "Replica",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        // The HTTP API and the web UI of a node, built by `buildHTTPApplication`.
        .target(
            name: "NodeHTTP",
            dependencies: [
                "HL7",
                "NodeRuntime",
                "Replica",
                "CRMDomain",
                "Sodium",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        // Multi-node testnets with injected faults, and the demo network, on loopback.
        .target(
            name: "Testnets",
            dependencies: [
                "NodeRuntime",
                "NodeHTTP",
                "Replica",
                "SyncProtocol",
                "CRMDomain",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // `suifang bench …`: release-build benchmarks with same-run baselines (kept in the product:
        // the sync benchmark starts real `suifang serve` processes of this very binary).
        .target(
            name: "Benchmarks",
            dependencies: [
                "Archive",
                "Sodium",
                "NodeRuntime",
                "NodeHTTP",
                "Testnets",
                "Replica",
                "SyncProtocol",
                "CRMDomain",
                // Same-run baselines measure libsodium and zlib themselves, not through our wrappers.
                "CSodium",
                "CZlib",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "node",
            dependencies: [
                "Archive",
                "CMalloc",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                "NodeRuntime",
                "NodeHTTP",
                "Testnets",
                "Benchmarks",
                "Replica",
                "SyncProtocol",
                "CRMDomain",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "SuifangFuzz",
            dependencies: [
                "HL7",
                "CRMDomain",
                "Sodium",
                "Replica",
                "SyncProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Sources/fuzz",
            swiftSettings: swiftSettings
        ),
        // What the test targets share: the test clock, temporary databases, the repository's files,
        // the process runner for the built binary.
        .target(
            name: "TestSupport",
            dependencies: ["Replica"],
            path: "Tests/TestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SyncProtocolTests",
            dependencies: [
                "TestSupport",
                "Sodium",
                "SyncProtocol",
                "Replica",
                "node",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "NodeTests",
            dependencies: [
                "TestSupport",
                "HL7",
                "node",  // the binary `SuifangBinary` runs
                "Archive",
                "Sodium",
                "NodeRuntime",
                "NodeHTTP",
                "Testnets",
                "Benchmarks",
                "CRMDomain",
                "Replica",
                "SyncProtocol",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CRMTests",
            dependencies: [
                "TestSupport",
                "HL7",
                "Sodium",
                "CRMDomain",
                "Replica",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ReplicaTests",
            dependencies: [
                "TestSupport",
                "Sodium",
                "Replica",
                "CRMDomain",
                "node",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
