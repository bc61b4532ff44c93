import Foundation

/// One Kafka record header. A header may carry no value at all (`nil`), which differs from an empty one.
public struct KafkaHeader: Sendable, Hashable {
    public var key: String
    public var value: [UInt8]?

    public init(key: String, value: [UInt8]?) {
        self.key = key
        self.value = value
    }

    public init(key: String, string: String) {
        self.init(key: key, value: Array(string.utf8))
    }
}

/// A topic and one of its partitions.
public struct KafkaTopicPartition: Sendable, Hashable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32

    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public var description: String { "\(topic)[\(partition)]" }
}

/// A record read from Kafka.
public struct KafkaRecord: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var key: [UInt8]?
    public var value: [UInt8]
    public var headers: [KafkaHeader]
    /// The record's timestamp (create or log-append time), when the broker supplied one.
    public var timestamp: Date?
    /// A null value (not an empty one): on a compacted topic, the deletion of its key.
    public var isTombstone: Bool

    public init(
        topic: String, partition: Int32, offset: Int64, key: [UInt8]?, value: [UInt8], headers: [KafkaHeader] = [], timestamp: Date? = nil,
        isTombstone: Bool = false
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
        self.isTombstone = isTombstone
    }

    public var topicPartition: KafkaTopicPartition { KafkaTopicPartition(topic: topic, partition: partition) }

    /// The value of the first header named `key`, decoded as UTF-8.
    public func header(_ key: String) -> String? {
        headers.first { $0.key == key }?.value.map { String(decoding: $0, as: UTF8.self) }
    }
}

/// A record to be sent to Kafka. Without a key and a partition, librdkafka's partitioner picks one.
public struct KafkaOutgoingMessage: Sendable {
    public var topic: String
    public var key: [UInt8]?
    public var value: [UInt8]
    public var headers: [KafkaHeader]
    /// An explicit partition, or `nil` to let the partitioner choose (by key hash when there is a key).
    public var partition: Int32?
    /// Send a null value instead of `value`: a tombstone, deleting the key on a compacted topic.
    public var isTombstone = false
    /// The record's timestamp (CreateTime); `nil` stamps it when it is produced.
    public var timestamp: Date?

    public init(topic: String, key: [UInt8]? = nil, value: [UInt8], headers: [KafkaHeader] = [], partition: Int32? = nil) {
        self.topic = topic
        self.key = key
        self.value = value
        self.headers = headers
        self.partition = partition
    }

    public init(topic: String, key: String?, value: String, headers: [KafkaHeader] = []) {
        self.init(topic: topic, key: key.map { Array($0.utf8) }, value: Array(value.utf8), headers: headers)
    }

    /// A tombstone for `key`: deletes the key on a compacted topic.
    public static func tombstone(topic: String, key: [UInt8], headers: [KafkaHeader] = []) -> KafkaOutgoingMessage {
        var message = KafkaOutgoingMessage(topic: topic, key: key, value: [], headers: headers)
        message.isTombstone = true
        return message
    }
}

/// Where the broker stored a message it acknowledged.
public struct KafkaDeliveryReceipt: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64

    public init(topic: String, partition: Int32, offset: Int64) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
    }
}
