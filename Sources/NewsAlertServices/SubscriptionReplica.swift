import Foundation
import KafkaBridge
import Logging
import NewsAlertCore
import NewsAlertStore
import NIOConcurrencyHelpers
import ServiceLifecycle

/// Keeps a node's subscriptions current: loads them from SQLite, then reads `subscriptions.changelog` from the
/// start and applies every record to SQLite and to the in-memory catalog.
///
/// Each process reads the whole compacted topic with a group of its own (nothing is committed), so a node
/// started on an empty database ends with the same rules as every other node.
public final class SubscriptionReplica: Service, Sendable {
    private let database: AppDatabase
    private let consumer: KafkaConsumer
    private let logger: Logger
    private let state = NIOLockedValueBox(SubscriptionCatalog())
    private let applied = NIOLockedValueBox(0)

    private let propagation: ChangelogPropagation?

    public init(kafka: KafkaConfiguration, database: AppDatabase, propagation: ChangelogPropagation? = nil, logger: Logger) throws {
        consumer = try .wholeTopicReader(NewsTopics.subscriptionsChangelog, kafka: kafka, groupPrefix: "newsalert-replica", logger: logger)
        self.database = database
        self.propagation = propagation
        self.logger = logger
    }

    /// The current catalog (a value: later changes do not affect it).
    public var catalog: SubscriptionCatalog { state.withLockedValue { $0 } }

    /// Changelog records applied since start.
    public var appliedChanges: Int { applied.withLockedValue { $0 } }

    public func run() async throws {
        var loaded = SubscriptionCatalog()
        for change in try await database.snapshot() { loaded.apply(change) }
        state.withLockedValue { $0 = loaded }
        logger.info("subscriptions loaded", metadata: ["subscriptions": "\(loaded.subscriptions.count)", "rules.indexed": "\(loaded.ruleCount)"])
        try await consumer.untilGracefulShutdown {
            for try await record in consumer.records {
                let key = String(decoding: record.key ?? [], as: UTF8.self)
                let change: SubscriptionChange
                do {
                    change = try SubscriptionChange(key: key, value: record.isTombstone ? nil : Data(record.value))
                } catch {
                    logger.error("changelog record skipped", metadata: ["kafka.offset": "\(record.offset)", "error": "\(error)"])
                    propagation?.applied(partition: record.partition, offset: record.offset, timestamp: nil)
                    continue
                }
                try await database.apply(change)
                state.withLockedValue { $0.apply(change) }
                applied.withLockedValue { $0 += 1 }
                propagation?.applied(partition: record.partition, offset: record.offset, timestamp: record.timestamp)
            }
        }
    }
}
