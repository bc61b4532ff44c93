import Foundation
import KafkaBridge
import Logging
import NewsAlertCore
import NewsAlertStore
import NIOConcurrencyHelpers
import ServiceLifecycle

/// Publishes the subscription store's outbox to `subscriptions.changelog`, in order, and forgets each change
/// only after Kafka acknowledged it: a change committed to SQLite always reaches the topic, even across crashes.
///
/// On a cluster it has not published to before (a restarted embedded broker keeps nothing), it first queues the
/// whole state again, so the new changelog holds every subscriber, channel and subscription.
public struct ChangelogPublisher: Service {
    let database: AppDatabase
    let producer: KafkaProducer
    let admin: KafkaAdmin
    let logger: Logger
    /// Told where each published batch landed, for read-your-writes on this node.
    let propagation: ChangelogPropagation?
    /// Longest pause between two looks at the outbox when no change rang (a safety net; changes ring at once).
    var pollInterval: Duration = .seconds(5)

    public init(database: AppDatabase, producer: KafkaProducer, admin: KafkaAdmin, propagation: ChangelogPropagation? = nil, logger: Logger) {
        self.database = database
        self.producer = producer
        self.admin = admin
        self.propagation = propagation
        self.logger = logger
    }

    public func run() async throws {
        let clusterChecked = NIOLockedValueBox(false)
        try await relayOutbox(waitingOn: database.changes(of: "changelog_outbox"), atMost: pollInterval) {
            if !clusterChecked.withLockedValue({ $0 }) {
                let checked = await queueSnapshotIfNewCluster()
                clusterChecked.withLockedValue { $0 = checked }
            }
            return try await publishPending()
        }
    }

    /// True once the cluster is known and, if new to this store, the snapshot is queued; false to try again.
    private func queueSnapshotIfNewCluster() async -> Bool {
        do {
            let clusterID = try await admin.clusterID()
            let queued = try await database.queueSnapshot(forCluster: clusterID)
            if queued > 0 {
                logger.notice("changelog republished to a cluster new to this store", metadata: ["kafka.cluster": "\(clusterID)", "changes": "\(queued)"])
            }
            return true
        } catch {
            logger.warning("the cluster id is not known yet; the changelog snapshot check waits", metadata: ["error": "\(error)"])
            return false
        }
    }

    /// Publishes what is pending; returns how many changes went out.
    @discardableResult
    public func publishPending() async throws -> Int {
        let pending = try await database.pendingChanges(limit: 1_000)
        guard let last = pending.last else { return 0 }
        let messages = pending.map { PipelineRecord.subscriptionChange(key: $0.key, value: $0.value) }
        // In order, one round trip for the batch: a change is never overtaken by an older one of the same key.
        let receipts = try await RetryingSend.send(batch: messages, with: producer, logger: logger)
        try await database.removePublishedChanges(through: last.sequence)
        propagation?.published(through: last.sequence, receipts: receipts)
        logger.debug("changelog published", metadata: ["changes": "\(pending.count)"])
        return pending.count
    }
}

/// Runs `publishPending` until graceful shutdown; whenever it had nothing to publish it waits for the outbox to
/// change (`changes`), at most `pollInterval`, so an idle node does not poll.
///
/// On graceful shutdown it drains the outbox before returning: services stop in reverse start order, so the
/// services that write the outbox (a delivery worker handing its queue back, the subscription API) have
/// already stopped, and their last changes reach the topic before this process goes. A drain cut short (the
/// shutdown deadline passed, Kafka unreachable) leaves the rest in the outbox for the next start.
func relayOutbox(
    waitingOn changes: TableChanges, atMost pollInterval: Duration, _ publishPending: @escaping @Sendable () async throws -> Int
) async throws {
    do {
        try await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                if try await publishPending() == 0 {
                    await changes.wait(upTo: pollInterval)
                }
            }
        }
    } catch is CancellationError {}
    while !Task.isCancelled, try await publishPending() > 0 {}
}
