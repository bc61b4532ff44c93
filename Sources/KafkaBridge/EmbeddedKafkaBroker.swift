import Logging
import ServiceLifecycle

/// A Kafka cluster inside this process (librdkafka's mock cluster), listening on 127.0.0.1.
///
/// It speaks the real Kafka protocol, so any client (kcat, confluent-kafka, KafkaBridge) can use it.
/// It keeps data in memory only, with bounded retention (about 5 MiB per partition): meant for
/// development, tests and demos; production runs on a real Kafka or Redpanda cluster.
/// It does not implement the CreateTopics admin request: create topics through `createTopic`.
public final class EmbeddedKafkaBroker: Service, Sendable {
    private let cluster: RDKafkaMockCluster
    /// `host:port,...` of every broker, for `bootstrap.servers`.
    public let bootstrapServers: String
    public let brokerCount: Int

    public init(brokers: Int = 3, logger: Logger) throws(KafkaError) {
        guard brokers >= 1 else { throw KafkaError(kind: .configuration, message: "an embedded cluster needs at least one broker, not \(brokers)") }
        cluster = try RDKafkaMockCluster(brokers: brokers, logger: logger)
        bootstrapServers = cluster.bootstrapServers
        brokerCount = brokers
    }

    /// Creates a topic (topic configs such as compaction are not modelled by the embedded broker).
    public func createTopic(_ name: String, partitions: Int, replicationFactor: Int? = nil) throws(KafkaError) {
        try cluster.createTopic(name, partitions: partitions, replicationFactor: replicationFactor ?? min(3, brokerCount))
    }

    /// Makes `broker` (1...brokerCount) the leader of a partition.
    public func setPartitionLeader(topic: String, partition: Int32, broker: Int32) throws(KafkaError) {
        try cluster.setPartitionLeader(topic: topic, partition: partition, broker: broker)
    }

    /// Disconnects a broker and refuses new connections (no leader change), or lets it back up.
    public func setBroker(_ broker: Int32, up: Bool) throws(KafkaError) {
        try cluster.setBroker(broker, up: up)
    }

    /// Keeps the cluster alive until graceful shutdown.
    public func run() async throws {
        try? await gracefulShutdown()
        withExtendedLifetime(cluster) {}
    }
}
