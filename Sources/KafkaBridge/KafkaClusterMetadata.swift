/// What a cluster said about its brokers and topics.
public struct KafkaClusterMetadata: Sendable {
    public struct Broker: Sendable, Hashable {
        public var id: Int32
        public var host: String
        public var port: Int
    }

    public struct Partition: Sendable, Hashable {
        public var id: Int32
        /// Broker id of the partition's leader, -1 when it has none.
        public var leader: Int32
        public var replicas: Int
    }

    public struct Topic: Sendable, Hashable {
        public var name: String
        public var partitions: [Partition]
        /// Set when the broker reported a problem with this topic.
        public var error: String?
    }

    public var brokers: [Broker]
    public var topics: [Topic]

    public func topic(_ name: String) -> Topic? {
        topics.first { $0.name == name }
    }
}

/// A topic to create: partitions, replication and topic configs such as `cleanup.policy=compact`.
public struct KafkaTopicSpecification: Sendable, Hashable {
    public var name: String
    public var partitions: Int
    public var replicationFactor: Int
    public var configs: [String: String]

    public init(name: String, partitions: Int, replicationFactor: Int = 1, configs: [String: String] = [:]) {
        self.name = name
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.configs = configs
    }
}
