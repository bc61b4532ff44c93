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
    /// True when this node's SQLite is the subscription store itself (`serve` on its embedded broker): a record
    /// deleted from the changelog before it was read is then reloaded from SQLite instead of missed.
    private let reloadsFromStoreOnGap: Bool
    private let nextOffsets = NIOLockedValueBox([Int32: Int64]())

    public init(kafka: KafkaConfiguration, database: AppDatabase, propagation: ChangelogPropagation? = nil, reloadsFromStoreOnGap: Bool = false, logger: Logger) throws {
        self.reloadsFromStoreOnGap = reloadsFromStoreOnGap
        consumer = try .wholeTopicReader(NewsTopics.subscriptionsChangelog, kafka: kafka, groupPrefix: "newsalert-replica", logger: logger)
        self.database = database
        self.propagation = propagation
        self.logger = logger
    }

    /// The current catalog (a value: later changes do not affect it).
    public var catalog: SubscriptionCatalog { state.withLockedValue { $0 } }

    /// Changelog records applied since start.
    public var appliedChanges: Int { applied.withLockedValue { $0 } }

    /// Returns once the catalog holds what this node's SQLite held at start. Fan-out and delivery wait for it: an
    /// alert planned or attempted against the empty catalog of a starting node would find no subscriber or channel.
    public func waitUntilLoaded() async throws {
        while !loadedFromStore.withLockedValue({ $0 }) { try await Task.sleep(for: .milliseconds(10)) }
    }

    private let loadedFromStore = NIOLockedValueBox(false)

    public func run() async throws {
        var loaded = SubscriptionCatalog()
        for change in try await database.snapshot() { loaded.apply(change) }
        state.withLockedValue { $0 = loaded }
        loadedFromStore.withLockedValue { $0 = true }
        logger.info("subscriptions loaded", metadata: ["subscriptions": "\(loaded.subscriptions.count)", "rules.indexed": "\(loaded.ruleCount)"])
        try await consumer.untilGracefulShutdown {
            var records = consumer.records.makeAsyncIterator()
            while let first = try await records.next() {
                // What one fetch brought, applied in one transaction: a bulk import publishes millions of records.
                var batch = [first]
                while batch.count < Self.batchLimit, records.hasBufferedRecords, let next = try await records.next() { batch.append(next) }
                try await apply(batch)
            }
        }
    }

    /// Most changelog records applied in one SQLite transaction.
    static let batchLimit = 2_000

    private func apply(_ records: [KafkaRecord]) async throws {
        var changes: [SubscriptionChange] = []
        changes.reserveCapacity(records.count)
        for record in records {
            let key = String(decoding: record.key ?? [], as: UTF8.self)
            do {
                changes.append(try SubscriptionChange(key: key, value: record.isTombstone ? nil : Data(record.value)))
            } catch {
                logger.error("changelog record skipped", metadata: ["kafka.offset": "\(record.offset)", "error": "\(error)"])
            }
        }
        try await database.apply(changes)
        state.withLockedValue { catalog in for change in changes { catalog.apply(change) } }
        applied.withLockedValue { $0 += changes.count }
        // Told after any reload, so a request waiting for its change finds the catalog complete.
        defer {
            for record in records { propagation?.applied(partition: record.partition, offset: record.offset, timestamp: record.timestamp) }
        }
        guard reloadsFromStoreOnGap else { return }
        let caughtUp = propagation?.isCaughtUp(after: records) ?? true
        let reload = reloadState.withLockedValue { reload in
            if let gap = firstGap(in: records) { reload.pendingSince = reload.pendingSince ?? Date(); reload.lastGap = gap }
            // Records of this store's own changes were deleted from the log unread (the embedded broker keeps about
            // 5 MiB per partition); SQLite holds all of them. Rebuild the catalog once caught up with what was
            // published (a bulk import keeps the log ahead until it is done; a rebuild costs seconds per million).
            guard reload.pendingSince != nil, caughtUp else { return nil as (Int32, Int64)? }
            reload.pendingSince = nil
            return reload.lastGap
        }
        if let (partition, offset) = reload {
            var loaded = SubscriptionCatalog()
            for change in try await database.snapshot() { loaded.apply(change) }
            state.withLockedValue { $0 = loaded }
            logger.notice("subscription catalog reloaded from SQLite: changelog records were deleted before they were read", metadata: [
                "kafka.partition": "\(partition)", "kafka.offset": "\(offset)", "subscriptions": "\(loaded.subscriptions.count)",
            ])
        }
    }

    private struct ReloadState {
        var pendingSince: Date?
        var lastGap: (Int32, Int64)?
    }
    private let reloadState = NIOLockedValueBox(ReloadState())

    /// The first record that does not follow the previous one read from its partition.
    private func firstGap(in records: [KafkaRecord]) -> (Int32, Int64)? {
        nextOffsets.withLockedValue { next in
            var gap: (Int32, Int64)?
            for record in records {
                if gap == nil, record.offset > next[record.partition, default: 0] { gap = (record.partition, record.offset) }
                next[record.partition] = record.offset + 1
            }
            return gap
        }
    }
}
