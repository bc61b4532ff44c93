/// How to reach a Kafka cluster. Anything librdkafka understands (security, SASL, timeouts)
/// can be passed through `properties`; the bridge validates every key when a client is created.
public struct KafkaConfiguration: Sendable {
    /// Comma-separated `host:port` list.
    public var bootstrapServers: String
    public var clientID: String
    /// Extra librdkafka properties, applied last, e.g. `security.protocol`, `sasl.mechanism`, `sasl.username`.
    public var properties: [String: String]
    /// Told of every record loss a consumer made from this configuration notices (see `KafkaRecordLoss`), after
    /// the consumer logged it.
    public var onRecordsLost: (@Sendable (KafkaRecordLoss) -> Void)?
    /// The `fetch.wait.max.ms` consumers made from this configuration start with (see
    /// `KafkaConsumerConfiguration.fetchWaitMaxMilliseconds`).
    public var fetchWaitMaxMilliseconds = 500
    /// Consumers made from this configuration pause while idle and producers made from it wake them (see
    /// `KafkaIdlePause`); only for a cluster written to (nearly) only by this process.
    public var idlePause: KafkaIdlePause?

    public init(bootstrapServers: String, clientID: String = "newsalert", properties: [String: String] = [:]) {
        self.bootstrapServers = bootstrapServers
        self.clientID = clientID
        self.properties = properties
    }

    var baseProperties: [String: String] {
        ["bootstrap.servers": bootstrapServers, "client.id": clientID]
    }
}

/// Producer settings. Defaults favour never losing a message: idempotence on, `acks=all`.
public struct KafkaProducerConfiguration: Sendable {
    public var kafka: KafkaConfiguration
    /// Idempotent producer (no duplicates or reordering on retry). Implies `acks=all`.
    public var idempotent: Bool = true
    public var acks: String = "all"
    /// How long to wait for more messages before sending a batch (`linger.ms`).
    public var lingerMilliseconds: Int = 5
    /// Upper bound of a batch in bytes (`batch.size`).
    public var batchSizeBytes: Int = 1_000_000
    /// How long librdkafka keeps retrying a message before reporting it failed (`message.timeout.ms`).
    public var messageTimeoutMilliseconds: Int = 300_000
    /// Longest wait for outstanding messages at shutdown.
    public var flushTimeoutMilliseconds: Int = 30_000

    public init(kafka: KafkaConfiguration) {
        self.kafka = kafka
    }

    var librdkafkaProperties: [String: String] {
        var properties = kafka.baseProperties
        properties["enable.idempotence"] = idempotent ? "true" : "false"
        properties["acks"] = acks
        properties["linger.ms"] = String(lingerMilliseconds)
        properties["batch.size"] = String(batchSizeBytes)
        properties["message.timeout.ms"] = String(messageTimeoutMilliseconds)
        properties.merge(kafka.properties) { _, explicit in explicit }
        return properties
    }
}

/// Consumer-group settings. Offsets are committed only for records the caller marked done.
public struct KafkaConsumerConfiguration: Sendable {
    public enum OffsetReset: String, Sendable {
        case earliest, latest
    }

    public var kafka: KafkaConfiguration
    public var groupID: String
    public var topics: [String]
    /// Where a group with no committed offset starts.
    public var offsetReset: OffsetReset = .earliest
    /// How often stored (done) offsets are committed in the background.
    public var commitIntervalMilliseconds: Int = 1_000
    public var sessionTimeoutMilliseconds: Int = 10_000
    /// Most records fetched from librdkafka's queue in one hop.
    public var maxBatchSize: Int = 500
    /// Longest time a broker may hold a fetch while waiting for data (`fetch.wait.max.ms`; librdkafka's default is
    /// 500 ms). A real broker answers as soon as a record arrives; librdkafka's mock cluster (the embedded broker)
    /// holds an empty fetch the whole time, so there it bounds the latency of each hop, and every idle consumer
    /// asks again this often.
    public var fetchWaitMaxMilliseconds: Int
    /// How the consumer checks that no record is skipped.
    public var lossCheck: KafkaLossCheck = .groupPosition

    public init(kafka: KafkaConfiguration, groupID: String, topics: [String]) {
        self.kafka = kafka
        self.groupID = groupID
        self.topics = topics
        fetchWaitMaxMilliseconds = kafka.fetchWaitMaxMilliseconds
    }

    var librdkafkaProperties: [String: String] {
        var properties = kafka.baseProperties
        properties["group.id"] = groupID
        properties["enable.auto.offset.store"] = "false"
        properties["enable.auto.commit"] = "true"
        properties["auto.commit.interval.ms"] = String(commitIntervalMilliseconds)
        properties["auto.offset.reset"] = offsetReset.rawValue
        properties["session.timeout.ms"] = String(sessionTimeoutMilliseconds)
        // A third of the session timeout, as Kafka advises: an idle member still proves it is alive in time.
        properties["heartbeat.interval.ms"] = String(max(100, sessionTimeoutMilliseconds / 3))
        properties["fetch.wait.max.ms"] = String(fetchWaitMaxMilliseconds)
        properties.merge(kafka.properties) { _, explicit in explicit }
        return properties
    }
}
