import Foundation
import KafkaBridge
import Logging
import NewsAlertStore
import ServiceLifecycle

/// Puts back on the topics what SQLite shows as accepted but not finished downstream, when a process starts
/// against an empty embedded log (the embedded broker keeps nothing across a restart, a kill -9 included).
///
/// Events enrich has not journaled go back on `news.events` with their original receive time, enriched events
/// fan-out has not journaled on `news.enriched` as enrich published them, and alerts no delivery worker has
/// queued on their channel topic. Each stage drops copies of what it had finished (event id, alert id); held
/// alerts and the delivery queues never left SQLite and carry on by themselves.
public struct EmbeddedLogRecovery: Service {
    let database: AppDatabase
    let producer: KafkaProducer
    let logger: Logger

    public init(database: AppDatabase, producer: KafkaProducer, logger: Logger) {
        self.database = database
        self.producer = producer
        self.logger = logger
    }

    public func run() async throws {
        _ = try await cancelWhenGracefulShutdown { try await recover() }
        try? await gracefulShutdown()
    }

    /// Publishes the unfinished work; returns it.
    @discardableResult
    public func recover(now: Date = Date()) async throws -> UnfinishedWork {
        let work = try await database.unfinishedWork(since: now.addingTimeInterval(-AppDatabase.recoveryHorizon))
        var messages: [KafkaOutgoingMessage] = work.events.map {
            var message = PipelineRecord.event(encoded: $0.payload, id: $0.id, idempotencyKey: $0.idempotencyKey)
            message.timestamp = $0.receivedAt
            return message
        }
        messages += work.enriched.map { PipelineRecord.enriched(encoded: $0.record, storyID: $0.storyID) }
        messages += work.alerts.map { PipelineRecord.alert(encoded: $0.payload, channel: $0.channel, subscriberID: $0.subscriberID) }
        var start = 0
        while start < messages.count {
            let batch = Array(messages[start..<min(start + 500, messages.count)])
            _ = try await RetryingSend.send(batch: batch, with: producer, logger: logger)
            start += batch.count
        }
        logger.notice("recovered from SQLite after a restart on an empty embedded log", metadata: [
            "events": "\(work.events.count)", "enriched": "\(work.enriched.count)", "alerts": "\(work.alerts.count)",
        ])
        return work
    }
}
