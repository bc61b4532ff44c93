/// Where a published event landed.
public struct EventPublication: Codable, Sendable, Hashable {
    public var topic: String
    public var partition: Int
    public var offset: Int64

    public init(topic: String, partition: Int, offset: Int64) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
    }
}

/// Publishes newsroom events durably (on Kafka in production); what the ingest API needs from the outside.
public protocol NewsEventPublisher: Sendable {
    /// Returns only once the event is durably stored (broker acknowledged with acks=all).
    func publish(_ event: NewsEvent, idempotencyKey: String?) async throws -> EventPublication
    /// Whether the event store can currently be reached, for readiness probes.
    func isReachable() async -> Bool
}
