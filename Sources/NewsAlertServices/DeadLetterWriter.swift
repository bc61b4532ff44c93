import Foundation
import KafkaBridge
import Logging
import NewsAlertCore

/// Parks records a stage cannot process on `news.deadletter`, waiting for the broker's acknowledgement
/// so the caller may then mark the original record done.
public struct DeadLetterWriter: Sendable {
    let producer: KafkaProducer
    let stage: String
    let logger: Logger
    let topic: String

    public init(producer: KafkaProducer, stage: String, logger: Logger, topic: String = NewsTopics.deadLetter.name) {
        self.producer = producer
        self.stage = stage
        self.logger = logger
        self.topic = topic
    }

    /// The record's JSON value as `Value`; `nil` after parking the record when it is not one (`what` names the
    /// expected content in the reason, e.g. "an alert").
    public func decode<Value: Decodable>(_ type: Value.Type, from record: KafkaRecord, expecting what: String) async throws -> Value? {
        do {
            return try JSONDecoder.newsAlert.decode(Value.self, from: Data(record.value))
        } catch {
            try await park(record, reason: "not \(what): \(error)")
            return nil
        }
    }

    public func park(_ record: KafkaRecord, reason: String, details: String? = nil) async throws {
        let letter = DeadLetter(
            reason: reason, stage: stage, sourceTopic: record.topic, sourcePartition: Int(record.partition), sourceOffset: record.offset,
            originalKey: record.key, originalValue: record.value, failedAt: Date(), details: details)
        let receipt = try await RetryingSend.send(KafkaOutgoingMessage(
            topic: topic, key: record.key, value: Array(try JSONEncoder.newsAlert.encode(letter)),
            headers: [KafkaHeader(key: "newsalert-schema", string: "deadletter/1")]), with: producer, logger: logger)
        logger.warning("record dead-lettered", metadata: [
            "stage": "\(stage)", "reason": "\(reason)", "kafka.source": "\(record.topic)[\(record.partition)]@\(record.offset)",
            "kafka.deadletter.offset": "\(receipt.offset)",
        ])
    }
}
