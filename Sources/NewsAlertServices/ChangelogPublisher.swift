import Foundation
import KafkaBridge
import Logging
import NewsAlertCore
import NewsAlertStore
import ServiceLifecycle

/// Publishes the subscription store's outbox to `subscriptions.changelog`, in order, and forgets each change
/// only after Kafka acknowledged it: a change committed to SQLite always reaches the topic, even across crashes.
public struct ChangelogPublisher: Service {
    let database: AppDatabase
    let producer: KafkaProducer
    let logger: Logger
    var pollInterval: Duration = .milliseconds(50)

    public init(database: AppDatabase, producer: KafkaProducer, logger: Logger) {
        self.database = database
        self.producer = producer
        self.logger = logger
    }

    public func run() async throws {
        // On shutdown the loop stops between batches; unpublished changes stay in the outbox for the next start.
        do {
            try await cancelWhenGracefulShutdown {
                while !Task.isCancelled {
                    if try await publishPending() == 0 {
                        try await Task.sleep(for: pollInterval)
                    }
                }
            }
        } catch is CancellationError {}
    }

    /// Publishes what is pending; returns how many changes went out.
    @discardableResult
    public func publishPending() async throws -> Int {
        let pending = try await database.pendingChanges(limit: 200)
        guard let last = pending.last else { return 0 }
        for change in pending {
            let key = Array(change.key.utf8)
            let topic = NewsTopics.subscriptionsChangelog.name
            let message = change.value.map { KafkaOutgoingMessage(topic: topic, key: key, value: Array($0), headers: [KafkaHeader(key: "content-type", string: "application/json")]) }
                ?? .tombstone(topic: topic, key: key)
            _ = try await RetryingSend.send(message, with: producer, logger: logger)
        }
        try await database.removePublishedChanges(through: last.sequence)
        logger.debug("changelog published", metadata: ["changes": "\(pending.count)"])
        return pending.count
    }
}
