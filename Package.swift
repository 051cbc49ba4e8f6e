// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "PortalLinks",
    products: [
        .executable(name: "portal-links", targets: ["PortalLinksCLI"]),
        .library(name: "PortalLinksCore", targets: ["PortalLinksCore"]),
        .library(name: "PortalLinks", targets: ["PortalLinks"]),
        .library(name: "PortalLinksClient", targets: ["PortalLinksClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        // Without its default traits: swift-configuration is not needed for the HTTP gateway.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        // serve's configuration file (JSON or YAML) beside its flags and environment variables.
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0", traits: ["JSON", "YAML"]),
        // YAML files' keys, so that `config check` names the ones nothing reads (swift-configuration's own parser).
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        // gzip request bodies for the gateway's Connect calls (zlib, from zlib1g-dev).
        .package(url: "https://github.com/adam-fowler/compress-nio", from: "1.5.0"),
    ],
    targets: [
        // C helpers of the core: HMAC with precomputed pads, AES-256-GCM, SHA-256 and randomness from
        // OpenSSL's libcrypto, a vectorised base64url decode, and the common-passwords list built into the
        // binary (generated from common-passwords.txt by scripts/embed-common-passwords.py).
        .target(
            name: "CPortalLinks",
            exclude: ["common-passwords.txt"],
            cSettings: [.define("OPENSSL_SUPPRESS_DEPRECATED")],
            linkerSettings: [.linkedLibrary("crypto")]
        ),
        // Argon2id password hashing from Debian's libargon2 (libargon2-dev).
        .systemLibrary(name: "CArgon2", providers: [.apt(["libargon2-dev"])]),
        // Token formats (links, sessions, password resets), signing, verification, key-ring state machine,
        // account rules and password hashing. No I/O; the clock is a parameter.
        .target(name: "PortalLinksCore", dependencies: ["CPortalLinks", "CArgon2"]),
        // One store protocol for everything persistent, and the records it holds; no database.
        .target(name: "PortalLinksStore", dependencies: ["PortalLinksCore"]),
        // The embedded SQLite store, the default: one file in WAL mode.
        .target(
            name: "PortalLinksSQLite",
            dependencies: ["PortalLinksStore", "PortalLinksCore", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        // The PostgreSQL store, for installations whose servers run on several machines.
        .target(
            name: "PortalLinksPostgres",
            dependencies: [
                "PortalLinksStore", "PortalLinksCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Staff operations on top of core and store: keys, revocation, issuing, loading verifiers.
        .target(name: "PortalLinks", dependencies: ["CPortalLinks", "PortalLinksCore", "PortalLinksStore"]),
        // libcurl's SMTP (STARTTLS, implicit TLS, AUTH) behind three plain C functions (libcurl4-openssl-dev).
        .target(name: "CSMTP", linkerSettings: [.linkedLibrary("curl")]),
        // Emails: messages (MIME, RFC 2047), templates, the outbox, and sending them over SMTP.
        .target(name: "PortalLinksMail", dependencies: ["CSMTP", "PortalLinks", "PortalLinksCore"]),
        // Generated from Protos/ by `make protos`; never edited by hand.
        .target(
            name: "PortalLinksMessages",
            dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")],
            exclude: ["protos.sha256"]
        ),
        // Protocol v1 framing: header, frame codec, method ids, status codes. NIOCore only, so that the client
        // links neither libcrypto nor libargon2 (make test checks: scripts/check-client-dependencies.py).
        .target(
            name: "PortalLinksWire",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")]
        ),
        // The verify service: connection handling, request handlers, snapshot reloading, graceful shutdown.
        .target(
            name: "PortalLinksService",
            dependencies: [
                "CPortalLinks", "PortalLinks", "PortalLinksCore", "PortalLinksStore", "PortalLinksWire", "PortalLinksMessages", "PortalLinksMail",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            // Connection state lives in event-loop-confined classes, where dynamic exclusivity checks on every
            // property access cost the server a fifth or more of its Verify rate at depth 16 (re-measured after
            // the connection state machine: 325-444k/s checked against 499-571k/s unchecked, Benchmarks/
            // bench-compare.sh, 3 rounds).
            swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"])]
        ),
        // The HTTP gateway (`serve --http`: Connect, forward auth, probes) and the metrics endpoint, on
        // Hummingbird: a second door onto the service's method table.
        .target(
            name: "PortalLinksGateway",
            dependencies: [
                "PortalLinks", "PortalLinksCore", "PortalLinksService", "PortalLinksWire", "PortalLinksMessages",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The Swift client for front-end servers.
        .target(
            name: "PortalLinksClient",
            dependencies: [
                "PortalLinksWire", "PortalLinksMessages",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        .executableTarget(
            name: "PortalLinksCLI",
            dependencies: [
                "PortalLinks", "PortalLinksCore", "PortalLinksStore", "PortalLinksSQLite", "PortalLinksPostgres", "PortalLinksService",
                "PortalLinksGateway", "PortalLinksClient", "PortalLinksBench", "PortalLinksMail",
                "PortalLinksWire", "PortalLinksMessages",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            // The load generator's per-connection state lives in event-loop-confined classes too; with dynamic
            // exclusivity checks a fifth of its CPU went to them (perf), and with one load-generator thread the
            // depth-16 figures are the generator's: 338-342k/s with the checks against 356-416k/s without
            // (Benchmarks/bench-compare.sh, whose rounds each use the binary's own bench).
            swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"])]
        ),
        // Fuzzing (make fuzz): the checks each libFuzzer target applies to an input, and the targets, which do
        // nothing unless built with --sanitize=fuzzer. Fuzz/Corpus holds their seeds and past findings.
        .target(
            name: "PortalLinksFuzzChecks",
            dependencies: [
                "PortalLinks", "PortalLinksCore", "PortalLinksSQLite", "PortalLinksService", "PortalLinksWire", "PortalLinksMessages",
                "PortalLinksTesting",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            path: "Fuzz/Checks"
        ),
        .executableTarget(name: "FuzzFrames", dependencies: ["PortalLinksFuzzChecks"], path: "Fuzz/Targets/FuzzFrames"),
        .executableTarget(name: "FuzzTokens", dependencies: ["PortalLinksFuzzChecks"], path: "Fuzz/Targets/FuzzTokens"),
        .executableTarget(name: "FuzzRequests", dependencies: ["PortalLinksFuzzChecks"], path: "Fuzz/Targets/FuzzRequests"),
        .executableTarget(name: "FuzzCSV", dependencies: ["PortalLinksFuzzChecks"], path: "Fuzz/Targets/FuzzCSV"),
        // What the test suites share: the throw-away PostgreSQL database, a movable clock, `eventually`, and the
        // capture of secrets and output for make test's scan.
        .target(
            name: "PortalLinksTesting",
            dependencies: [
                "PortalLinksCore", "PortalLinksPostgres", "PortalLinks", "PortalLinksService", "PortalLinksWire",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/PortalLinksTesting"
        ),
        // Every seed and past finding in Fuzz/Corpus through the same checks, on every `make test`.
        .testTarget(name: "PortalLinksFuzzCorpusTests", dependencies: ["PortalLinksFuzzChecks", "PortalLinksTesting"]),
        .testTarget(name: "PortalLinksCoreTests", dependencies: ["PortalLinksCore", "CPortalLinks"]),
        .testTarget(
            name: "PortalLinksStoreTests",
            dependencies: [
                "PortalLinksTesting", "PortalLinksStore", "PortalLinksSQLite", "PortalLinksPostgres", "PortalLinksCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // What a load test measured, with no I/O: latency histograms in HdrHistogram's standard encoding, a
        // run's results as JSON, runs merged and compared, the HTML report. `portal-links bench` measures.
        .target(
            name: "PortalLinksBench",
            dependencies: [
                "PortalLinks",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "PortalLinksMailTests", dependencies: ["PortalLinksMail"]),
        .testTarget(
            name: "PortalLinksBenchTests",
            dependencies: ["PortalLinksBench", .product(name: "Histogram", package: "hdrhistogram-swift"), .product(name: "NIOCore", package: "swift-nio")]
        ),
        .testTarget(
            name: "PortalLinksTests",
            dependencies: ["PortalLinksTesting", "PortalLinks", "PortalLinksCore", "PortalLinksStore", "PortalLinksSQLite"]
        ),
        // Runs the built binary as staff would; the client library only to play a front-end server against `serve`,
        // PostgresNIO only to give PostgreSQL tests a database of their own.
        .testTarget(
            name: "PortalLinksCLITests",
            dependencies: [
                "PortalLinksTesting", "PortalLinksClient", "PortalLinksMessages", "PortalLinksPostgres",
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
        .testTarget(
            name: "PortalLinksWireTests",
            dependencies: [
                "PortalLinksWire", "PortalLinksMessages",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "PortalLinksServiceTests",
            dependencies: [
                "PortalLinksTesting", "PortalLinksService", "PortalLinksGateway", "PortalLinksClient", "PortalLinks", "PortalLinksCore", "PortalLinksStore",
                "PortalLinksSQLite", "PortalLinksPostgres", "PortalLinksWire", "PortalLinksMessages",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
    ]
)
