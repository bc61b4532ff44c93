/// Publishes newsroom events durably (on Kafka in production); what the ingest API needs from the outside.
public protocol NewsEventPublisher: Sendable {
    /// Returns only once the event is durably stored (broker acknowledged with acks=all).
    func publish(_ event: NewsEvent, idempotencyKey: String?) async throws -> KafkaPosition
    /// Whether the event store can currently be reached, for readiness probes.
    func isReachable() async -> Bool
}
