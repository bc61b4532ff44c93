import CRdKafka
import Foundation
import Logging

/// Owns one `rd_kafka_t` handle and the callback context it points to.
///
/// Not thread-confined: librdkafka's produce, offset-store and metadata calls are thread-safe.
/// Blocking calls (`poll`, `consumeBatch`, `close`) must run off Swift's cooperative pool.
final class RDKafkaClient: @unchecked Sendable {
    enum Kind {
        case producer, consumer
    }

    let handle: OpaquePointer
    let context: RDKafkaCallbackContext
    private let retainedContext: Unmanaged<RDKafkaCallbackContext>
    private var consumerQueue: OpaquePointer?

    /// Creates the handle; every property is checked, so a typo fails here with its name.
    /// - Parameter onRecordStored: for a producer, called with the topic of every record the broker acknowledged.
    init(kind: Kind, properties: [String: String], logger: Logger, onRecordStored: (@Sendable (String) -> Void)? = nil) throws(KafkaError) {
        let conf = try RDKafkaClient.makeConf(properties)
        context = RDKafkaCallbackContext(logger: logger, onRecordStored: onRecordStored)
        retainedContext = Unmanaged.passRetained(context)
        rd_kafka_conf_set_opaque(conf, retainedContext.toOpaque())
        rd_kafka_conf_set_log_cb(conf, RDKafkaCallbacks.log)
        rd_kafka_conf_set_error_cb(conf, RDKafkaCallbacks.error)
        switch kind {
        case .producer:
            rd_kafka_conf_set_dr_msg_cb(conf, RDKafkaCallbacks.delivery)
        case .consumer:
            rd_kafka_conf_set_rebalance_cb(conf, RDKafkaCallbacks.rebalance)
        }
        var errorText = [CChar](repeating: 0, count: 512)
        guard let handle = rd_kafka_new(kind == .producer ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER, conf, &errorText, errorText.count) else {
            rd_kafka_conf_destroy(conf)
            retainedContext.release()
            throw KafkaError(kind: .configuration, message: errorText.textUpToNul)
        }
        self.handle = handle
        if kind == .consumer {
            rd_kafka_poll_set_consumer(handle)
            consumerQueue = rd_kafka_queue_get_consumer(handle)
        }
    }

    deinit {
        if let consumerQueue { rd_kafka_queue_destroy(consumerQueue) }
        rd_kafka_destroy(handle)
        retainedContext.release()
    }

    static func makeConf(_ properties: [String: String]) throws(KafkaError) -> OpaquePointer {
        let conf = rd_kafka_conf_new()!
        var errorText = [CChar](repeating: 0, count: 512)
        for (key, value) in properties.sorted(by: { $0.key < $1.key }) {
            let result = rd_kafka_conf_set(conf, key, value, &errorText, errorText.count)
            guard result == RD_KAFKA_CONF_OK else {
                rd_kafka_conf_destroy(conf)
                // librdkafka's text names the property; the value is left out since it may be a secret.
                let reason = result == RD_KAFKA_CONF_UNKNOWN ? "unknown configuration property \"\(key)\"" : "invalid value for \"\(key)\": \(errorText.textUpToNul)"
                throw KafkaError(kind: .configuration, message: reason)
            }
        }
        return conf
    }

    // MARK: Producer

    /// What happened to a message handed to librdkafka.
    enum EnqueueResult {
        case enqueued
        /// librdkafka's queue is full (`queue.buffering.max.*`): try again once deliveries drain it.
        case queueFull
        case rejected(KafkaError)
    }

    /// Enqueues one message; its delivery report later completes `promise`, or, without one,
    /// goes to the unawaited-failure handler if it failed.
    func produce(_ message: KafkaOutgoingMessage, promise: RDKafkaDeliveryPromise?) -> EnqueueResult {
        let opaque = promise.map { Unmanaged.passRetained($0).toOpaque() }
        var headers: OpaquePointer? = nil
        if !message.headers.isEmpty {
            headers = rd_kafka_headers_new(message.headers.count)
            for header in message.headers {
                if let value = header.value {
                    _ = value.withUnsafeBytes { rd_kafka_header_add(headers, header.key, -1, $0.baseAddress, $0.count) }
                } else {
                    _ = rd_kafka_header_add(headers, header.key, -1, nil, 0)
                }
            }
        }
        let partition = message.partition ?? RD_KAFKA_PARTITION_UA
        let result = message.value.withUnsafeBytes { value in
            withOptionalBytes(message.key) { key in
                newsalert_rd_kafka_produce(
                    handle, message.topic, partition,
                    key?.baseAddress, key?.count ?? 0, message.isTombstone ? nil : value.baseAddress, message.isTombstone ? 0 : value.count,
                    headers, message.timestamp.map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) } ?? 0, opaque)
            }
        }
        if result == RD_KAFKA_RESP_ERR_NO_ERROR { return .enqueued }
        // Ownership of headers and promise passes to librdkafka only on success.
        if let headers { rd_kafka_headers_destroy(headers) }
        if let opaque { Unmanaged<RDKafkaDeliveryPromise>.fromOpaque(opaque).release() }
        if result == RD_KAFKA_RESP_ERR__QUEUE_FULL { return .queueFull }
        return .rejected(KafkaError(kind: .delivery, resp: result, context: "cannot enqueue message for \(message.topic)"))
    }

    /// Serves delivery reports and client events for up to `timeoutMilliseconds`.
    func poll(timeoutMilliseconds: Int32) {
        rd_kafka_poll(handle, timeoutMilliseconds)
    }

    /// Waits until every enqueued message was delivered or failed.
    /// - Returns: whether everything was flushed within the timeout.
    func flush(timeoutMilliseconds: Int32) -> Bool {
        rd_kafka_flush(handle, timeoutMilliseconds) == RD_KAFKA_RESP_ERR_NO_ERROR
    }

    var outstandingMessages: Int { Int(rd_kafka_outq_len(handle)) }

    // MARK: Consumer

    func subscribe(_ topics: [String]) throws(KafkaError) {
        let result = RDKafkaTopicPartitionList.with(topics.map { ($0, RD_KAFKA_PARTITION_UA, Int64(RD_KAFKA_OFFSET_INVALID)) }) {
            rd_kafka_subscribe(handle, $0)
        }
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(kind: .broker, resp: result, context: "subscribe to \(topics.joined(separator: ","))")
        }
    }

    /// Fetches up to `maxCount` records, waiting at most `timeoutMilliseconds` for the first one;
    /// runs rebalance callbacks. Records carrying an error are returned as `.failure`.
    ///
    /// librdkafka's batch call waits until the batch is *full* or the timeout passes, which would add up
    /// to the whole timeout to every record's latency; so take what is there, wait for one, then drain.
    func consumeBatch(maxCount: Int, timeoutMilliseconds: Int32) -> [Result<KafkaRecord, KafkaError>] {
        var results = consumeQueued(maxCount: maxCount, timeoutMilliseconds: 0)
        guard results.isEmpty else { return results }
        results = consumeQueued(maxCount: 1, timeoutMilliseconds: timeoutMilliseconds)
        guard !results.isEmpty, maxCount > 1 else { return results }
        return results + consumeQueued(maxCount: maxCount - 1, timeoutMilliseconds: 0)
    }

    private func consumeQueued(maxCount: Int, timeoutMilliseconds: Int32) -> [Result<KafkaRecord, KafkaError>] {
        guard let consumerQueue else { return [] }
        var messages = [UnsafeMutablePointer<rd_kafka_message_t>?](repeating: nil, count: maxCount)
        let count = rd_kafka_consume_batch_queue(consumerQueue, timeoutMilliseconds, &messages, maxCount)
        guard count > 0 else { return [] }
        return (0..<count).compactMap { index in
            guard let message = messages[index] else { return nil }
            defer { rd_kafka_message_destroy(message) }
            return RDKafkaClient.record(from: message)
        }
    }

    private static func record(from pointer: UnsafeMutablePointer<rd_kafka_message_t>) -> Result<KafkaRecord, KafkaError> {
        let message = pointer.pointee
        let topic = message.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
        guard message.err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            let detail = message.payload.map { String(cString: $0.assumingMemoryBound(to: CChar.self)) } ?? ""
            return .failure(KafkaError(kind: .broker, resp: message.err, context: "consume \(topic)[\(message.partition)] \(detail)"))
        }
        let value = message.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: message.len)) } ?? []
        let key = message.key.map { Array(UnsafeRawBufferPointer(start: $0, count: message.key_len)) }
        var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let milliseconds = rd_kafka_message_timestamp(pointer, &timestampType)
        let timestamp = timestampType == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : Date(timeIntervalSince1970: Double(milliseconds) / 1000)
        return .success(KafkaRecord(
            topic: topic, partition: message.partition, offset: message.offset,
            key: key, value: value, headers: headers(of: pointer), timestamp: timestamp, isTombstone: message.payload == nil))
    }

    private static func headers(of message: UnsafeMutablePointer<rd_kafka_message_t>) -> [KafkaHeader] {
        var list: OpaquePointer? = nil
        guard rd_kafka_message_headers(message, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { return [] }
        var result: [KafkaHeader] = []
        var index = 0
        while true {
            var name: UnsafePointer<CChar>? = nil
            var value: UnsafeRawPointer? = nil
            var size = 0
            guard rd_kafka_header_get_all(list, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR, let name else { break }
            result.append(KafkaHeader(key: String(cString: name), value: value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) }))
            index += 1
        }
        return result
    }

    /// Stores `offset` (the next one to read) per partition, to be committed by the background committer.
    func storeOffsets(_ entries: [(topic: String, partition: Int32, offset: Int64)]) throws(KafkaError) {
        let failures: [(KafkaTopicPartition, rd_kafka_resp_err_t)] = RDKafkaTopicPartitionList.with(entries) { list in
            let result = rd_kafka_offsets_store(handle, list)
            let perPartition = RDKafkaTopicPartitionList.errors(in: list)
            if result != RD_KAFKA_RESP_ERR_NO_ERROR, perPartition.isEmpty {
                return [(KafkaTopicPartition(topic: entries.first?.topic ?? "", partition: -1), result)]
            }
            return perPartition
        }
        if let (partition, code) = failures.first {
            throw KafkaError(kind: .offset, resp: code, context: "cannot store offset for \(partition) (partition not assigned to this member any more?)")
        }
    }

    /// Synchronously commits stored offsets; having nothing new to commit is not an error.
    func commitStored() throws(KafkaError) {
        let code = rd_kafka_commit(handle, nil, 0)
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR || code == RD_KAFKA_RESP_ERR__NO_OFFSET else {
            throw KafkaError(kind: .offset, resp: code, context: "commit stored offsets")
        }
    }

    /// Stops fetching the given partitions (their position is kept) until `resume`. Thread-safe, does not block.
    func pause(_ partitions: [KafkaTopicPartition]) {
        guard !partitions.isEmpty else { return }
        _ = RDKafkaTopicPartitionList.with(partitions.map { ($0.topic, $0.partition, Int64(RD_KAFKA_OFFSET_INVALID)) }) {
            rd_kafka_pause_partitions(handle, $0)
        }
    }

    /// Gets the fetcher threads of the given partitions' leaders going after a `resume`. librdkafka 2.0 applies a
    /// resume on its main thread and leaves an idle fetcher thread asleep for up to a second; a request to the leader
    /// (here a watermark query, a cheap round trip) wakes that thread, which then finds the partitions fetchable.
    /// Asks partition after partition (each leader's thread needs one) while `stillNeeded()`; blocks for the round
    /// trips, so it runs off the consume thread.
    func wakeFetchers(of partitions: [KafkaTopicPartition], while stillNeeded: () -> Bool) {
        for partition in partitions {
            guard stillNeeded() else { return }
            var low: Int64 = 0
            var high: Int64 = 0
            _ = rd_kafka_query_watermark_offsets(handle, partition.topic, partition.partition, &low, &high, 1_000)
        }
    }

    /// Makes a consume call that is waiting on another thread return now (with what it has). Thread-safe.
    func interruptConsume() {
        if let consumerQueue { rd_kafka_queue_yield(consumerQueue) }
    }

    /// Fetches paused partitions again. Thread-safe, does not block.
    func resume(_ partitions: [KafkaTopicPartition]) {
        guard !partitions.isEmpty else { return }
        _ = RDKafkaTopicPartitionList.with(partitions.map { ($0.topic, $0.partition, Int64(RD_KAFKA_OFFSET_INVALID)) }) {
            rd_kafka_resume_partitions(handle, $0)
        }
    }

    /// Leaves the group after committing stored offsets; runs the final revoke callback.
    func closeConsumer() throws(KafkaError) {
        let code = rd_kafka_consumer_close(handle)
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(kind: .broker, resp: code, context: "close consumer") }
    }

    /// The committed offset per partition for this consumer's group.
    func committedOffsets(_ partitions: [KafkaTopicPartition], timeoutMilliseconds: Int32) throws(KafkaError) -> [KafkaTopicPartition: Int64] {
        var result: [KafkaTopicPartition: Int64] = [:]
        let code = RDKafkaTopicPartitionList.with(partitions.map { ($0.topic, $0.partition, Int64(RD_KAFKA_OFFSET_INVALID)) }) { list in
            let code = rd_kafka_committed(handle, list, timeoutMilliseconds)
            if let elements = list.pointee.elems {
                for index in 0..<Int(list.pointee.cnt) {
                    result[KafkaTopicPartition(topic: String(cString: elements[index].topic), partition: elements[index].partition)] = elements[index].offset
                }
            }
            return code
        }
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(kind: .offset, resp: code, context: "fetch committed offsets") }
        return result
    }

    // MARK: Metadata

    /// The cluster's topics with their partition counts and leaders.
    func metadata(timeoutMilliseconds: Int32) throws(KafkaError) -> KafkaClusterMetadata {
        var pointer: UnsafePointer<rd_kafka_metadata>? = nil
        let code = rd_kafka_metadata(handle, 1, nil, &pointer, timeoutMilliseconds)
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR, let pointer else {
            throw KafkaError(kind: .connectivity, resp: code, context: "no broker answered a metadata request within \(timeoutMilliseconds) ms")
        }
        defer { rd_kafka_metadata_destroy(pointer) }
        let metadata = pointer.pointee
        let brokers = (0..<Int(metadata.broker_cnt)).map {
            KafkaClusterMetadata.Broker(id: metadata.brokers[$0].id, host: String(cString: metadata.brokers[$0].host), port: Int(metadata.brokers[$0].port))
        }
        let topics = (0..<Int(metadata.topic_cnt)).map { index in
            let topic = metadata.topics[index]
            let partitions = (0..<Int(topic.partition_cnt)).map {
                KafkaClusterMetadata.Partition(id: topic.partitions[$0].id, leader: topic.partitions[$0].leader, replicas: Int(topic.partitions[$0].replica_cnt))
            }
            return KafkaClusterMetadata.Topic(
                name: String(cString: topic.topic), partitions: partitions,
                error: topic.err == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : String(cString: rd_kafka_err2str(topic.err)))
        }
        return KafkaClusterMetadata(brokers: brokers, topics: topics)
    }

    /// The last high watermark this consumer saw for a partition (no broker round trip), or nil if unknown.
    func cachedHighWatermark(topic: String, partition: Int32) -> Int64? {
        var low: Int64 = -1
        var high: Int64 = -1
        guard rd_kafka_get_watermark_offsets(handle, topic, partition, &low, &high) == RD_KAFKA_RESP_ERR_NO_ERROR, high >= 0 else { return nil }
        return high
    }

    /// The cluster id the brokers report (after a metadata round trip), or nil if none answered in time.
    func clusterID(timeoutMilliseconds: Int32) -> String? {
        guard let pointer = rd_kafka_clusterid(handle, timeoutMilliseconds) else { return nil }
        defer { rd_kafka_mem_free(handle, pointer) }
        return String(cString: pointer)
    }

    // MARK: Admin

    /// Creates topics and waits for the controller's answer; per-topic failures come back by name.
    func createTopics(_ specifications: [KafkaTopicSpecification], timeoutMilliseconds: Int32) throws(KafkaError) -> [String: KafkaError] {
        var errorText = [CChar](repeating: 0, count: 512)
        var newTopics: [OpaquePointer?] = []
        defer { newTopics.forEach { rd_kafka_NewTopic_destroy($0) } }
        for specification in specifications {
            guard let newTopic = rd_kafka_NewTopic_new(specification.name, Int32(specification.partitions), Int32(specification.replicationFactor), &errorText, errorText.count) else {
                throw KafkaError(kind: .admin, message: "topic \(specification.name): \(errorText.textUpToNul)")
            }
            newTopics.append(newTopic)
            for (key, value) in specification.configs.sorted(by: { $0.key < $1.key }) {
                let code = rd_kafka_NewTopic_set_config(newTopic, key, value)
                guard code == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(kind: .admin, resp: code, context: "topic \(specification.name) config \(key)") }
            }
        }
        let queue = rd_kafka_queue_new(handle)
        defer { rd_kafka_queue_destroy(queue) }
        let options = rd_kafka_AdminOptions_new(handle, RD_KAFKA_ADMIN_OP_CREATETOPICS)
        defer { rd_kafka_AdminOptions_destroy(options) }
        _ = rd_kafka_AdminOptions_set_request_timeout(options, timeoutMilliseconds, &errorText, errorText.count)
        _ = rd_kafka_AdminOptions_set_operation_timeout(options, timeoutMilliseconds, &errorText, errorText.count)
        newTopics.withUnsafeMutableBufferPointer { rd_kafka_CreateTopics(handle, $0.baseAddress, $0.count, options, queue) }
        guard let event = rd_kafka_queue_poll(queue, timeoutMilliseconds + 1000) else {
            throw KafkaError(kind: .connectivity, message: "no answer to CreateTopics within \(timeoutMilliseconds) ms", isRetriable: true)
        }
        defer { rd_kafka_event_destroy(event) }
        let eventError = rd_kafka_event_error(event)
        guard eventError == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(kind: .admin, resp: eventError, context: "CreateTopics: \(String(cString: rd_kafka_event_error_string(event)))")
        }
        var failures: [String: KafkaError] = [:]
        var count = 0
        guard let result = rd_kafka_event_CreateTopics_result(event), let topics = rd_kafka_CreateTopics_result_topics(result, &count) else { return failures }
        for index in 0..<count {
            let topic = topics[index]
            let code = rd_kafka_topic_result_error(topic)
            guard code != RD_KAFKA_RESP_ERR_NO_ERROR else { continue }
            let name = String(cString: rd_kafka_topic_result_name(topic))
            let text = rd_kafka_topic_result_error_string(topic).map { String(cString: $0) } ?? ""
            failures[name] = KafkaError(kind: .admin, resp: code, context: "create topic \(name): \(text)")
        }
        return failures
    }
}

private func withOptionalBytes<Result>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> Result) -> Result {
    guard let bytes else { return body(nil) }
    return bytes.withUnsafeBytes { body($0) }
}
