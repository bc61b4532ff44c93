import CRdKafka
import Foundation
import Logging
import NIOConcurrencyHelpers

/// The Swift side of a librdkafka handle, reached from C callbacks through the conf opaque.
///
/// Retained (via `Unmanaged`) for as long as the `rd_kafka_t` lives, released after `rd_kafka_destroy`.
final class RDKafkaCallbackContext: Sendable {
    let logger: Logger
    /// Called for a failed message that nobody awaits (fire-and-forget sends).
    let unawaitedFailure: NIOLockedValueBox<(@Sendable (KafkaError, String) -> Void)?> = NIOLockedValueBox(nil)
    /// Called inside `rd_kafka_*poll` when the group assigns or revokes partitions.
    let rebalance: NIOLockedValueBox<(@Sendable (RDKafkaRebalanceEvent) -> Void)?> = NIOLockedValueBox(nil)
    /// The first fatal error the client reported, if any.
    let fatalError: NIOLockedValueBox<KafkaError?> = NIOLockedValueBox(nil)
    /// Called with the topic of every record the broker acknowledged (producers only).
    let onRecordStored: (@Sendable (String) -> Void)?

    init(logger: Logger, onRecordStored: (@Sendable (String) -> Void)? = nil) {
        self.logger = logger
        self.onRecordStored = onRecordStored
    }
}

/// A partition (re)assignment as librdkafka reports it to the rebalance callback.
struct RDKafkaRebalanceEvent {
    enum Change { case assigned, revoked }
    let change: Change
    let partitions: [KafkaTopicPartition]
    /// Performs the assignment change librdkafka expects from the callback (eager or cooperative).
    let apply: () -> Void
}

/// Completes one awaited `send` when its delivery report arrives.
final class RDKafkaDeliveryPromise: Sendable {
    let complete: @Sendable (Result<KafkaDeliveryReceipt, KafkaError>) -> Void

    init(_ complete: @escaping @Sendable (Result<KafkaDeliveryReceipt, KafkaError>) -> Void) {
        self.complete = complete
    }
}

enum RDKafkaCallbacks {
    static func context(of handle: OpaquePointer?) -> RDKafkaCallbackContext? {
        guard let handle, let opaque = rd_kafka_opaque(handle) else { return nil }
        return Unmanaged<RDKafkaCallbackContext>.fromOpaque(opaque).takeUnretainedValue()
    }

    /// Routes librdkafka's log lines (syslog levels) into swift-log.
    static let log: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafePointer<CChar>?) -> Void = { handle, level, facility, line in
        guard let context = context(of: handle), let line else { return }
        let swiftLevel: Logger.Level
        switch level {
        case ...2: swiftLevel = .critical
        case 3: swiftLevel = .error
        case 4: swiftLevel = .warning
        case 5: swiftLevel = .notice
        case 6: swiftLevel = .info
        default: swiftLevel = .debug
        }
        context.logger.log(
            level: swiftLevel, "\(String(cString: line))",
            metadata: ["kafka.facility": "\(facility.map { String(cString: $0) } ?? "")"])
    }

    /// Client-level errors: logged; a fatal one is remembered so later calls can fail fast.
    static let error: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafeMutableRawPointer?) -> Void = { handle, code, reason, _ in
        guard let context = context(of: handle) else { return }
        let reasonText = reason.map { String(cString: $0) } ?? ""
        if code == RD_KAFKA_RESP_ERR__FATAL.rawValue, let handle {
            var buffer = [CChar](repeating: 0, count: 512)
            let underlying = rd_kafka_fatal_error(handle, &buffer, buffer.count)
            var error = KafkaError(kind: .broker, resp: underlying, context: buffer.textUpToNul)
            error = KafkaError(kind: error.kind, code: error.code, rawCode: error.rawCode, message: error.message, isFatal: true)
            context.fatalError.withLockedValue { if $0 == nil { $0 = error } }
            context.logger.critical("fatal Kafka error", metadata: ["kafka.error": "\(error)"])
        } else {
            let resp = rd_kafka_resp_err_t(rawValue: code)
            context.logger.warning(
                "Kafka client error",
                metadata: ["kafka.error": "\(String(cString: rd_kafka_err2name(resp)))", "kafka.reason": "\(reasonText)"])
        }
    }

    /// Delivery reports: resume the awaiting `send`, or hand an unawaited failure to the producer.
    static let delivery: @convention(c) (OpaquePointer?, UnsafePointer<rd_kafka_message_t>?, UnsafeMutableRawPointer?) -> Void = { handle, message, _ in
        guard let message = message?.pointee else { return }
        let topic = message.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
        let result: Result<KafkaDeliveryReceipt, KafkaError>
        if message.err == RD_KAFKA_RESP_ERR_NO_ERROR {
            result = .success(KafkaDeliveryReceipt(topic: topic, partition: message.partition, offset: message.offset))
            context(of: handle)?.onRecordStored?(topic)
        } else {
            result = .failure(KafkaError(kind: .delivery, resp: message.err, context: "delivery to \(topic) failed"))
        }
        if let promiseOpaque = message._private {
            let promise = Unmanaged<RDKafkaDeliveryPromise>.fromOpaque(promiseOpaque).takeRetainedValue()
            promise.complete(result)
        } else if case .failure(let error) = result, let context = context(of: handle) {
            let handler = context.unawaitedFailure.withLockedValue { $0 }
            handler?(error, topic)
        }
    }

    /// Group rebalances: commit what is done before giving partitions away, then (un)assign.
    static let rebalance: @convention(c) (OpaquePointer?, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?, UnsafeMutableRawPointer?) -> Void = { handle, code, list, _ in
        guard let handle else { return }
        let partitions = RDKafkaTopicPartitionList.partitions(of: list)
        let cooperative = String(cString: rd_kafka_rebalance_protocol(handle)) == "COOPERATIVE"
        let change: RDKafkaRebalanceEvent.Change = code == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS ? .assigned : .revoked
        let apply = {
            switch (change, cooperative) {
            case (.assigned, false): _ = rd_kafka_assign(handle, list)
            case (.revoked, false): _ = rd_kafka_assign(handle, nil)
            case (.assigned, true): if let error = rd_kafka_incremental_assign(handle, list) { rd_kafka_error_destroy(error) }
            case (.revoked, true): if let error = rd_kafka_incremental_unassign(handle, list) { rd_kafka_error_destroy(error) }
            }
            // A partition paused while idle under an earlier assignment starts out fetching under the new one.
            if change == .assigned, let list { _ = rd_kafka_resume_partitions(handle, list) }
        }
        let context = context(of: handle)
        if change == .revoked {
            // Commit the offsets stored for finished records before the partitions move elsewhere.
            let committed = rd_kafka_commit(handle, nil, 0)
            if committed != RD_KAFKA_RESP_ERR_NO_ERROR, committed != RD_KAFKA_RESP_ERR__NO_OFFSET {
                context?.logger.warning("commit before revoke failed", metadata: ["kafka.error": "\(String(cString: rd_kafka_err2name(committed)))"])
            }
        }
        let event = RDKafkaRebalanceEvent(change: change, partitions: partitions, apply: apply)
        if let listener = context?.rebalance.withLockedValue({ $0 }) {
            listener(event)
        } else {
            apply()
        }
    }
}
