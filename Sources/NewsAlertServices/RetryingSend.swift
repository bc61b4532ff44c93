import KafkaBridge
import Logging

/// Sends a message a pipeline stage must not lose: retriable failures (broker down, timeouts) are
/// retried with capped exponential backoff until they succeed or the task is cancelled; only a
/// non-retriable error is thrown. The input record is not marked done meanwhile, so nothing is skipped.
enum RetryingSend {
    static func send(_ message: KafkaOutgoingMessage, with producer: KafkaProducer, logger: Logger) async throws -> KafkaDeliveryReceipt {
        var delay = Duration.milliseconds(200)
        while true {
            do {
                return try await producer.send(message)
            } catch let error as KafkaError where error.isRetriable && !error.isFatal {
                logger.warning("send failed, retrying", metadata: ["kafka.topic": "\(message.topic)", "kafka.error": "\(error)", "retry.in": "\(delay)"])
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(10))
            }
        }
    }

    /// Sends `messages` in order as one batch (see `KafkaProducer.send(batch:)`), retrying the whole batch on a
    /// retriable failure: a message may then reach the topic twice, never out of order behind a later one.
    static func send(batch messages: [KafkaOutgoingMessage], with producer: KafkaProducer, logger: Logger) async throws -> [KafkaDeliveryReceipt] {
        var delay = Duration.milliseconds(200)
        while true {
            do {
                return try await producer.send(batch: messages)
            } catch let error as KafkaError where error.isRetriable && !error.isFatal {
                logger.warning("batch send failed, retrying", metadata: ["kafka.messages": "\(messages.count)", "kafka.error": "\(error)", "retry.in": "\(delay)"])
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(10))
            }
        }
    }
}
