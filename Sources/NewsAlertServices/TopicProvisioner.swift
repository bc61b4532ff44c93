import KafkaBridge
import Logging
import NewsAlertCore

/// Creates newsalert's topics with the layout of `schemas/asyncapi.yaml`.
public enum TopicProvisioner {
    /// On the embedded broker (which has no CreateTopics API) through its own interface.
    public static func ensure(_ topics: [NewsTopic] = NewsTopics.all, on broker: EmbeddedKafkaBroker) throws {
        for topic in topics {
            try broker.createTopic(topic.name, partitions: topic.partitions)
        }
    }

    /// On a real cluster; topics that already exist are left as they are.
    public static func ensure(_ topics: [NewsTopic] = NewsTopics.all, with admin: KafkaAdmin, replicationFactor: Int) async throws {
        try await admin.createTopics(
            topics.map { KafkaTopicSpecification(name: $0.name, partitions: $0.partitions, replicationFactor: replicationFactor, configs: $0.configs) },
            ignoreExisting: true)
    }
}
