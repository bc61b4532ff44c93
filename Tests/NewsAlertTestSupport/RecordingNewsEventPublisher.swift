import Foundation
import NewsAlertCore

/// A `NewsEventPublisher` that keeps what it was given in memory, for route tests where the broker is not the
/// point: positions are assigned like Kafka's (partition by the event id, offsets counting up per partition), and
/// `failPublishing` makes every publish throw, as an unacknowledged send does.
public final class RecordingNewsEventPublisher: NewsEventPublisher, @unchecked Sendable {
    /// One publish call: the event, its Idempotency-Key and where it landed.
    public struct Publication: Sendable {
        public let event: NewsEvent
        public let idempotencyKey: String?
        public let position: KafkaPosition
    }

    public struct NotAcknowledged: Error {}

    private let lock = NSLock()
    private var publications: [Publication] = []
    private var nextOffset: [Int: Int64] = [:]
    private var failing = false
    private let topic: String
    private let partitions: Int

    public init(topic: String = "news.events", partitions: Int = 12) {
        self.topic = topic
        self.partitions = partitions
    }

    /// Every publish so far, in order.
    public var published: [Publication] { lock.withLock { publications } }

    /// While true, every publish throws `NotAcknowledged` and nothing is kept.
    public var failPublishing: Bool {
        get { lock.withLock { failing } }
        set { lock.withLock { failing = newValue } }
    }

    public func publish(_ event: NewsEvent, idempotencyKey: String?) async throws -> KafkaPosition {
        try lock.withLock {
            if failing { throw NotAcknowledged() }
            let partition = Int(event.id.utf8.reduce(UInt32(2_166_136_261)) { ($0 ^ UInt32($1)) &* 16_777_619 } % UInt32(partitions))
            let offset = nextOffset[partition, default: 0]
            nextOffset[partition] = offset + 1
            let position = KafkaPosition(topic: topic, partition: partition, offset: offset)
            publications.append(Publication(event: event, idempotencyKey: idempotencyKey, position: position))
            return position
        }
    }

    public func isReachable() async -> Bool { !failPublishing }
}
