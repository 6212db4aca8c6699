// swift-tools-version: 6.1
// MeshDB: a Byzantine-fault-tolerant database for decentralized applications.
// Module graph (see ../shared/DESIGN.md): Consensus <- Replication <- MeshDB -> QueryPlanner,
// MeshWire -> MeshDB, meshdb -> all. CSQLite, CLZ4 and CLibCrypto are system-library shims.
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "MeshDB",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "meshdb", targets: ["meshdb"]),
        .library(name: "MeshDB", targets: ["MeshDB"]),
        .library(name: "Consensus", targets: ["Consensus"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .systemLibrary(
            name: "CLZ4",
            pkgConfig: "liblz4",
            providers: [.apt(["liblz4-dev"])]
        ),
        // Line editing and history for `meshdb sql` (Debian's libedit-dev, readline-compatible API).
        .systemLibrary(
            name: "CEditLine",
            pkgConfig: "libedit",
            providers: [.apt(["libedit-dev"])]
        ),
        // SHA-256 without a heap-allocated context per hash, for the PBFT hot path (see shim.h).
        .systemLibrary(
            name: "CLibCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .target(
            name: "Consensus",
            dependencies: ["CLibCrypto", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Replication",
            dependencies: ["Consensus", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "QueryPlanner",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "MeshDB",
            dependencies: [
                "CSQLite", "CLZ4", "Consensus", "Replication", "QueryPlanner",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "TOMLKit", package: "TOMLKit"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "MeshWire",
            dependencies: [
                "MeshDB", "QueryPlanner",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The pure core of `meshdb sql`: statement scanner, backslash commands, result formats,
        // completion. No I/O; the shell around it (libedit, postgres-nio, signals) is in meshdb.
        .target(
            name: "SQLShell",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "meshdb",
            dependencies: [
                "MeshDB", "MeshWire", "Consensus", "Replication", "QueryPlanner", "SQLShell", "CEditLine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                // `meshdb sql` and `meshdb bench`: the PostgreSQL client; bench's latency histograms.
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: swiftSettings
        ),
        // A child process the storage tests kill -9 mid-write (Tests/MeshDBTests/*CrashTests).
        .executableTarget(
            name: "meshdb-crash-harness",
            dependencies: ["MeshDB"],
            path: "Tests/CrashHarness",
            swiftSettings: swiftSettings
        ),
        // The parser's soak: seeded mutations of the sqllogictest corpus (`make soak-sql`).
        .executableTarget(
            name: "meshdb-sql-fuzz",
            dependencies: ["QueryPlanner"],
            path: "Tests/SQLFuzz",
            swiftSettings: swiftSettings
        ),
        // The SQL harnesses of issue 5: a sqllogictest runner and a differential tester, engine-neutral
        // (SQLLogicTestKit), with their command line (meshdb-sqllogictest).
        .target(
            name: "SQLLogicTestKit",
            dependencies: ["MeshDB", "QueryPlanner", "Consensus", "CSQLite", .product(name: "Crypto", package: "swift-crypto")],
            path: "Tests/SQLLogicTestKit",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "meshdb-sqllogictest",
            dependencies: [
                "SQLLogicTestKit", "MeshDB",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Tests/SQLLogicTest",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "meshdb-microbench",
            dependencies: ["MeshDB", "MeshWire", "CSQLite", "Consensus"],
            path: "Benchmarks/MicroBench",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "meshdb-cluster-bench",
            dependencies: ["MeshDB", "CSQLite", .product(name: "NIOPosix", package: "swift-nio")],
            path: "Benchmarks/ClusterBench",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "meshdb-sql-bench",
            dependencies: ["MeshDB", "QueryPlanner", "CSQLite"],
            path: "Benchmarks/SQLBench",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "meshdb-consensus-bench",
            dependencies: ["Consensus"],
            path: "Benchmarks/ConsensusBench",
            swiftSettings: swiftSettings
        ),
        // What the tests that start programs share (one test binary: test targets share code only
        // through a library module).
        .target(name: "TestSupport", path: "Tests/TestSupport", swiftSettings: swiftSettings),
        // Crypto: the hashing tests compare the hot path's SHA-256 and HMAC with swift-crypto's.
        .testTarget(
            name: "ConsensusTests",
            dependencies: ["Consensus", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ReplicationTests",
            dependencies: ["Replication", "Consensus", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "SQLShellTests", dependencies: ["SQLShell"], swiftSettings: swiftSettings),
        .testTarget(name: "QueryPlannerTests", dependencies: ["QueryPlanner"], swiftSettings: swiftSettings),
        .testTarget(
            name: "MeshDBTests",
            dependencies: [
                "MeshDB", "CSQLite", "Consensus", "QueryPlanner", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MeshWireTests",
            dependencies: [
                "MeshWire", "MeshDB", "QueryPlanner", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["Clients"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SQLLogicTestKitTests",
            dependencies: ["SQLLogicTestKit", "MeshDB"],
            swiftSettings: swiftSettings
        ),
    ]
)
