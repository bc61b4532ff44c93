import Logging

/// Topic administration against any Kafka cluster.
public final class KafkaAdmin: Sendable {
    private let client: RDKafkaClient
    private let configuration: KafkaConfiguration

    public init(configuration: KafkaConfiguration, logger: Logger) throws(KafkaError) {
        self.configuration = configuration
        client = try RDKafkaClient(kind: .producer, properties: configuration.baseProperties.merging(configuration.properties) { _, explicit in explicit }, logger: logger)
    }

    /// The cluster's brokers and topics; throws a `.connectivity` error if no broker answers in time.
    public func metadata(timeout: Duration = .seconds(10)) async throws(KafkaError) -> KafkaClusterMetadata {
        let client = self.client
        let milliseconds = Int32(timeout / .milliseconds(1))
        let bootstrap = configuration.bootstrapServers
        do {
            return try await blockingCall { () throws(KafkaError) in try client.metadata(timeoutMilliseconds: milliseconds) }
        } catch {
            throw KafkaError(kind: .connectivity, code: error.code, rawCode: error.rawCode, message: "cannot reach Kafka at \(bootstrap): \(error.message)", isRetriable: true)
        }
    }

    /// The id of the cluster (different for every embedded broker), e.g. to tell one log from its successor.
    public func clusterID(timeout: Duration = .seconds(10)) async throws(KafkaError) -> String {
        let client = self.client
        let milliseconds = Int32(timeout / .milliseconds(1))
        let id = await blockingCall { () throws(Never) -> String? in client.clusterID(timeoutMilliseconds: milliseconds) }
        guard let id else {
            throw KafkaError(kind: .connectivity, message: "cannot read the cluster id from \(configuration.bootstrapServers)", isRetriable: true)
        }
        return id
    }

    /// The cluster's topics, sorted by name, without internal ones (`__consumer_offsets`).
    public func listTopics(timeout: Duration = .seconds(10)) async throws(KafkaError) -> [KafkaClusterMetadata.Topic] {
        try await metadata(timeout: timeout).topics.filter { !$0.name.hasPrefix("__") }.sorted { $0.name < $1.name }
    }

    /// Creates topics. With `ignoreExisting`, a topic that already exists is not an error.
    public func createTopics(_ specifications: [KafkaTopicSpecification], ignoreExisting: Bool = false, timeout: Duration = .seconds(15)) async throws(KafkaError) {
        let client = self.client
        let milliseconds = Int32(timeout / .milliseconds(1))
        let failures: [String: KafkaError]
        do {
            failures = try await blockingCall { () throws(KafkaError) in try client.createTopics(specifications, timeoutMilliseconds: milliseconds) }
        } catch where error.message.contains("controller") {
            throw KafkaError(
                kind: .admin, code: error.code, rawCode: error.rawCode,
                message: "\(error.message). No controller answered at \(configuration.bootstrapServers); the embedded broker (`newsalert broker`) has none and cannot create topics over the protocol: start it with --topic NAME:PARTITIONS instead, or let topics be auto-created with 4 partitions",
                isRetriable: error.isRetriable)
        }
        let remaining = failures.values.filter { !(ignoreExisting && $0.code == "TOPIC_ALREADY_EXISTS") }
        if let first = remaining.sorted(by: { $0.message < $1.message }).first { throw first }
    }
}
