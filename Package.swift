// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "PortalLinks",
    products: [
        .executable(name: "portal-links", targets: ["PortalLinksCLI"]),
        .library(name: "PortalLinksCore", targets: ["PortalLinksCore"]),
        .library(name: "PortalLinks", targets: ["PortalLinks"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    ],
    targets: [
        // C helpers of the core: HMAC with precomputed pads, AES-256-GCM, SHA-256 and randomness from
        // OpenSSL's libcrypto, and a vectorised base64url decode.
        .target(
            name: "CPortalLinks",
            cSettings: [.define("OPENSSL_SUPPRESS_DEPRECATED")],
            linkerSettings: [.linkedLibrary("crypto")]
        ),
        // Token format, signing, verification, key-ring state machine. No I/O; the clock is a parameter.
        .target(name: "PortalLinksCore", dependencies: ["CPortalLinks"]),
        // One store protocol for everything persistent, and its embedded SQLite implementation.
        .target(
            name: "PortalLinksStore",
            dependencies: ["PortalLinksCore", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        // Staff operations on top of core and store: keys, revocation, issuing, loading verifiers.
        .target(name: "PortalLinks", dependencies: ["PortalLinksCore", "PortalLinksStore"]),
        .executableTarget(
            name: "PortalLinksCLI",
            dependencies: [
                "PortalLinks", "PortalLinksCore", "PortalLinksStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .testTarget(name: "PortalLinksCoreTests", dependencies: ["PortalLinksCore"]),
        .testTarget(
            name: "PortalLinksStoreTests",
            dependencies: ["PortalLinksStore", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .testTarget(name: "PortalLinksTests", dependencies: ["PortalLinks", "PortalLinksCore", "PortalLinksStore"]),
        .testTarget(name: "PortalLinksCLITests"),
    ]
)
