import CRdKafka
import Logging

/// librdkafka's in-process mock Kafka cluster: real Kafka protocol listeners on 127.0.0.1.
final class RDKafkaMockCluster: @unchecked Sendable {
    private let owner: RDKafkaClient
    private let cluster: OpaquePointer
    let bootstrapServers: String

    init(brokers: Int, logger: Logger) throws(KafkaError) {
        // The cluster needs a handle for bookkeeping; a producer that never produces will do.
        owner = try RDKafkaClient(kind: .producer, properties: ["client.id": "newsalert-embedded-broker", "log_level": "4"], logger: logger)
        guard let cluster = rd_kafka_mock_cluster_new(owner.handle, Int32(brokers)) else {
            throw KafkaError(kind: .configuration, message: "could not start an embedded cluster with \(brokers) brokers")
        }
        self.cluster = cluster
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
    }

    deinit {
        rd_kafka_mock_cluster_destroy(cluster)
    }

    func createTopic(_ name: String, partitions: Int, replicationFactor: Int) throws(KafkaError) {
        let code = rd_kafka_mock_topic_create(cluster, name, Int32(partitions), Int32(replicationFactor))
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(kind: .admin, resp: code, context: "create topic \(name)") }
    }

    func setPartitionLeader(topic: String, partition: Int32, broker: Int32) throws(KafkaError) {
        let code = rd_kafka_mock_partition_set_leader(cluster, topic, partition, broker)
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(kind: .admin, resp: code, context: "set leader of \(topic)[\(partition)]") }
    }

    func setBroker(_ broker: Int32, up: Bool) throws(KafkaError) {
        let code = up ? rd_kafka_mock_broker_set_up(cluster, broker) : rd_kafka_mock_broker_set_down(cluster, broker)
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(kind: .admin, resp: code, context: "set broker \(broker) \(up ? "up" : "down")") }
    }
}
