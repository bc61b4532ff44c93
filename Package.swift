// swift-tools-version: 6.1
import PackageDescription

let strictSwift6: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "newsalert",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "newsalert", targets: ["newsalert"]),
        .library(name: "KafkaBridge", targets: ["KafkaBridge"]),
        .library(name: "NewsAlertCore", targets: ["NewsAlertCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-async-algorithms", from: "1.1.4"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        // Tests only: reading the YAML contracts (openapi.yaml, asyncapi.yaml).
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // librdkafka, as installed by Debian's librdkafka-dev.
        .systemLibrary(
            name: "CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        // The only code that calls librdkafka: producer, consumer, admin, embedded broker.
        .target(
            name: "KafkaBridge",
            dependencies: [
                "CRdKafka",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSwift6
        ),
        // Pure domain: events, stories, enrichment, dedup, rules, matching. Foundation only.
        .target(
            name: "NewsAlertCore",
            resources: [.copy("Resources")],
            swiftSettings: strictSwift6
        ),
        // SQLite through GRDB: API keys, idempotency records, the event log; later subscriptions and deliveries.
        .target(
            name: "NewsAlertStore",
            dependencies: [
                "NewsAlertCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: strictSwift6
        ),
        // The last mile: signed webhooks behind an SSRF guard, and SMTP email.
        .target(
            name: "NewsAlertDelivery",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strictSwift6
        ),
        // The HTTP edge: Hummingbird routes, authentication, pages.
        .target(
            name: "NewsAlertHTTP",
            dependencies: [
                "NewsAlertCore",
                "NewsAlertStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.copy("Pages")],
            swiftSettings: strictSwift6
        ),
        // The long-running roles: wiring Kafka to the domain and the HTTP edge.
        .target(
            name: "NewsAlertServices",
            dependencies: [
                "KafkaBridge",
                "NewsAlertCore",
                "NewsAlertStore",
                "NewsAlertHTTP",
                "NewsAlertDelivery",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSwift6
        ),
        .executableTarget(
            name: "newsalert",
            dependencies: [
                "KafkaBridge",
                "NewsAlertCore",
                "NewsAlertStore",
                "NewsAlertHTTP",
                "NewsAlertServices",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSwift6
        ),
        .target(
            name: "NewsAlertTestSupport",
            dependencies: ["NewsAlertCore", .product(name: "Yams", package: "Yams")],
            path: "Tests/NewsAlertTestSupport",
            swiftSettings: strictSwift6
        ),
        .testTarget(
            name: "KafkaBridgeTests",
            dependencies: ["KafkaBridge"],
            swiftSettings: strictSwift6
        ),
        .testTarget(
            name: "NewsAlertHTTPTests",
            dependencies: [
                "KafkaBridge",
                "NewsAlertServices",
                "NewsAlertHTTP",
                "NewsAlertStore",
                "NewsAlertCore",
                "NewsAlertDelivery",
                "NewsAlertTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ],
            swiftSettings: strictSwift6
        ),
        .testTarget(
            name: "NewsAlertDeliveryTests",
            dependencies: [
                "NewsAlertDelivery",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            exclude: ["Email/smtp_peer.py", "Webhook/webhook_receiver.py"],
            swiftSettings: strictSwift6
        ),
        .testTarget(
            name: "NewsAlertServicesTests",
            dependencies: ["NewsAlertServices", "NewsAlertStore", "NewsAlertCore", "KafkaBridge", "NewsAlertTestSupport"],
            swiftSettings: strictSwift6
        ),
        .testTarget(
            name: "NewsAlertStoreTests",
            dependencies: ["NewsAlertStore", "NewsAlertCore", "NewsAlertTestSupport"],
            swiftSettings: strictSwift6
        ),
        .testTarget(
            name: "NewsAlertCoreTests",
            dependencies: ["NewsAlertCore", "NewsAlertTestSupport"],
            swiftSettings: strictSwift6
        ),
    ]
)
