import CRdKafka

extension KafkaError {
    /// Wraps a librdkafka response code, classifying it as fatal or retriable.
    init(kind: Kind, resp: rd_kafka_resp_err_t, context: String) {
        let name = String(cString: rd_kafka_err2name(resp))
        let text = String(cString: rd_kafka_err2str(resp))
        self.init(
            kind: kind,
            code: name,
            rawCode: resp.rawValue,
            message: context.isEmpty ? text : "\(context): \(text)",
            isFatal: resp == RD_KAFKA_RESP_ERR__FATAL,
            isRetriable: KafkaError.retriableCodes.contains(resp.rawValue)
        )
    }

    /// Wraps (and destroys) an `rd_kafka_error_t`, which carries its own fatal/retriable flags.
    init(kind: Kind, consuming error: OpaquePointer, context: String) {
        defer { rd_kafka_error_destroy(error) }
        let resp = rd_kafka_error_code(error)
        let text = String(cString: rd_kafka_error_string(error))
        self.init(
            kind: kind,
            code: String(cString: rd_kafka_error_name(error)),
            rawCode: resp.rawValue,
            message: "\(context): \(text)",
            isFatal: rd_kafka_error_is_fatal(error) != 0,
            isRetriable: rd_kafka_error_is_retriable(error) != 0 || KafkaError.retriableCodes.contains(resp.rawValue)
        )
    }

    /// Codes after which the same request may succeed later (broker down, leader moving, timeouts).
    static let retriableCodes: Set<Int32> = [
        RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__TIMED_OUT, RD_KAFKA_RESP_ERR__MSG_TIMED_OUT,
        RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, RD_KAFKA_RESP_ERR__QUEUE_FULL, RD_KAFKA_RESP_ERR__WAIT_COORD,
        RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
        RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
        RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND, RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION,
        RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
        RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART,
    ].reduce(into: Set<Int32>()) { $0.insert($1.rawValue) }
}

extension [CChar] {
    /// The text librdkafka wrote into an error buffer, up to its terminating NUL.
    var textUpToNul: String {
        String(decoding: prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
