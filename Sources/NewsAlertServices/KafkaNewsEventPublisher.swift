import Foundation
import KafkaBridge
import NewsAlertCore
import NIOConcurrencyHelpers

/// Publishes newsroom events to `news.events`, keyed by event id, and answers readiness from cluster metadata.
public final class KafkaNewsEventPublisher: NewsEventPublisher {
    private let producer: KafkaProducer
    private let admin: KafkaAdmin
    private let topic: String
    /// The last reachability answer and when it was taken, so probes do not hammer the cluster.
    private let reachability = NIOLockedValueBox<(reachable: Bool, at: ContinuousClock.Instant)?>(nil)

    public init(producer: KafkaProducer, admin: KafkaAdmin, topic: String = NewsTopics.events.name) {
        self.producer = producer
        self.admin = admin
        self.topic = topic
    }

    public func publish(_ event: NewsEvent, idempotencyKey: String?) async throws -> KafkaPosition {
        var message = try PipelineRecord.event(event, idempotencyKey: idempotencyKey)
        message.topic = topic
        let receipt = try await producer.send(message)
        return KafkaPosition(topic: receipt.topic, partition: Int(receipt.partition), offset: receipt.offset)
    }

    public func isReachable() async -> Bool {
        if let cached = reachability.withLockedValue({ $0 }), ContinuousClock.now - cached.at < .seconds(2) {
            return cached.reachable
        }
        let reachable = (try? await admin.metadata(timeout: .seconds(2))) != nil
        reachability.withLockedValue { $0 = (reachable, .now) }
        return reachable
    }
}
