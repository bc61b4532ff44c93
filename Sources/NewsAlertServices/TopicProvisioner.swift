import KafkaBridge
import Logging
import NewsAlertCore

/// Creates newsalert's topics with the layout of `schemas/asyncapi.yaml`.
public enum TopicProvisioner {
    /// On the embedded broker (which has no CreateTopics API) through its own interface; topics that
    /// already exist are left as they are.
    public static func ensure(_ topics: [NewsTopic] = NewsTopics.all, on broker: EmbeddedKafkaBroker) throws {
        for topic in topics {
            do {
                try broker.createTopic(topic.name, partitions: topic.partitions)
            } catch {
                if error.code != "TOPIC_ALREADY_EXISTS" { throw error }
            }
        }
    }

    /// On a cluster: creates the topics that are missing and leaves existing ones as they are.
    ///
    /// - Returns: the names of the topics it created.
    @discardableResult
    public static func ensure(_ topics: [NewsTopic] = NewsTopics.all, with admin: KafkaAdmin, replicationFactor: Int) async throws -> [String] {
        let existing = Set(try await admin.listTopics().map(\.name))
        let missing = topics.filter { !existing.contains($0.name) }
        guard !missing.isEmpty else { return [] }
        try await admin.createTopics(
            missing.map { KafkaTopicSpecification(name: $0.name, partitions: $0.partitions, replicationFactor: replicationFactor, configs: $0.configs) },
            ignoreExisting: true)
        return missing.map(\.name)
    }
}
