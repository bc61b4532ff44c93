import CRdKafka

/// Conversions between `rd_kafka_topic_partition_list_t` and Swift values.
enum RDKafkaTopicPartitionList {
    static func partitions(of list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?) -> [KafkaTopicPartition] {
        guard let list, let elements = list.pointee.elems else { return [] }
        return (0..<Int(list.pointee.cnt)).map {
            KafkaTopicPartition(topic: String(cString: elements[$0].topic), partition: elements[$0].partition)
        }
    }

    /// Builds a list of `topic[partition] = offset` (or plain topics with partition `RD_KAFKA_PARTITION_UA`),
    /// passes it to `body` and destroys it afterwards.
    static func with<Result>(
        _ entries: [(topic: String, partition: Int32, offset: Int64)],
        _ body: (UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> Result
    ) -> Result {
        let list = rd_kafka_topic_partition_list_new(Int32(entries.count))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for entry in entries {
            let element = rd_kafka_topic_partition_list_add(list, entry.topic, entry.partition)!
            element.pointee.offset = entry.offset
        }
        return body(list)
    }

    /// The per-partition errors librdkafka left in a list after a call.
    static func errors(in list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> [(KafkaTopicPartition, rd_kafka_resp_err_t)] {
        guard let elements = list.pointee.elems else { return [] }
        return (0..<Int(list.pointee.cnt)).compactMap { index in
            let element = elements[index]
            guard element.err != RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
            return (KafkaTopicPartition(topic: String(cString: element.topic), partition: element.partition), element.err)
        }
    }
}
