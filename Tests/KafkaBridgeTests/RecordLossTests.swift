import Foundation
import KafkaBridge
import NIOConcurrencyHelpers
import Testing

/// The embedded broker keeps about 5 MiB per partition and deletes older records without a word; a consumer that
/// was behind, or a reader of a whole log, notices the jump and reports it.
@Suite("Record loss detection")
struct RecordLossTests {
    /// Produces about 8 MiB of 100 KB records to partition 0 of `topic`, enough for the broker to drop the oldest.
    private func overflow(_ broker: EmbeddedKafkaBroker, topic: String) async throws {
        let producer = try TestSupport.producer(broker)
        let value = [UInt8](repeating: UInt8(ascii: "x"), count: 100_000)
        _ = try await producer.send(batch: (0..<80).map { _ in KafkaOutgoingMessage(topic: topic, key: Array("k".utf8), value: value) })
    }

    private func consumer(_ broker: EmbeddedKafkaBroker, group: String, topic: String, check: KafkaLossCheck, losses: NIOLockedValueBox<[KafkaRecordLoss]>) throws -> KafkaConsumer {
        var kafka = KafkaConfiguration(bootstrapServers: broker.bootstrapServers)
        kafka.onRecordsLost = { loss in losses.withLockedValue { $0.append(loss) } }
        var configuration = KafkaConsumerConfiguration(kafka: kafka, groupID: group, topics: [topic])
        configuration.commitIntervalMilliseconds = 200
        configuration.lossCheck = check
        return try KafkaConsumer(configuration: configuration, logger: TestSupport.logger)
    }

    /// Reads until a record at `offset` or later arrives; returns the first offset read.
    private func readUntil(_ consumer: KafkaConsumer, offset: Int64, markDone: Bool = false) async throws -> Int64 {
        var first: Int64?
        for try await record in consumer.records {
            first = first ?? record.offset
            if markDone { try consumer.markDone(record) }
            if record.offset >= offset { break }
        }
        return try #require(first)
    }

    @Test("a group whose position the log no longer holds reports the records it will never read")
    func laggingGroup() async throws {
        let broker = try EmbeddedKafkaBroker(brokers: 1, logger: TestSupport.logger)
        let topic = TestSupport.uniqueName("loss")
        try broker.createTopic(topic, partitions: 1)
        let producer = try TestSupport.producer(broker)
        _ = try await producer.send(batch: (0..<3).map { KafkaOutgoingMessage(topic: topic, key: "k", value: "v\($0)") })
        let group = TestSupport.uniqueName("g")
        let losses = NIOLockedValueBox<[KafkaRecordLoss]>([])

        let first = try consumer(broker, group: group, topic: topic, check: .groupPosition, losses: losses)
        #expect(try await readUntil(first, offset: 0, markDone: true) == 0)
        try await first.commit()
        await first.close()
        #expect(losses.withLockedValue { $0 }.isEmpty, "reading from the committed position loses nothing")

        try await overflow(broker, topic: topic)
        let again = try consumer(broker, group: group, topic: topic, check: .groupPosition, losses: losses)
        let resumedAt = try await readUntil(again, offset: 82)
        await again.close()
        #expect(resumedAt > 1, "the broker kept less than was produced, so the group jumped")
        let reported = losses.withLockedValue { $0 }
        #expect(reported.count == 1)
        #expect(reported.first?.kind == .positionBehindLog)
        #expect(reported.first.map { [$0.firstLost, $0.lastLost] } == [1, resumedAt - 1])
        #expect(reported.first?.topic == topic && reported.first?.partition == 0 && reported.first?.groupID == group)
        withExtendedLifetime(broker) {}
    }

    @Test("a whole-log reader that finds the beginning gone says so; a complete log and a fresh work group report nothing")
    func wholeLogReader() async throws {
        let broker = try EmbeddedKafkaBroker(brokers: 1, logger: TestSupport.logger)
        let complete = TestSupport.uniqueName("whole"), truncated = TestSupport.uniqueName("truncated")
        try broker.createTopic(complete, partitions: 1)
        try broker.createTopic(truncated, partitions: 1)
        let producer = try TestSupport.producer(broker)
        _ = try await producer.send(batch: (0..<5).map { KafkaOutgoingMessage(topic: complete, key: "k", value: "v\($0)") })
        try await overflow(broker, topic: truncated)
        let losses = NIOLockedValueBox<[KafkaRecordLoss]>([])

        let reader = try consumer(broker, group: TestSupport.uniqueName("w"), topic: complete, check: .wholeLog(retention: nil), losses: losses)
        #expect(try await readUntil(reader, offset: 4) == 0)
        await reader.close()
        #expect(losses.withLockedValue { $0 }.isEmpty)

        let fresh = try consumer(broker, group: TestSupport.uniqueName("f"), topic: truncated, check: .groupPosition, losses: losses)
        let firstKept = try await readUntil(fresh, offset: 79)
        await fresh.close()
        #expect(firstKept > 0 && losses.withLockedValue { $0 }.isEmpty, "a new work group has no position to fall behind")

        let copy = try consumer(broker, group: TestSupport.uniqueName("c"), topic: truncated, check: .wholeLog(retention: .seconds(86_400 * 30)), losses: losses)
        #expect(try await readUntil(copy, offset: 79) == firstKept)
        await copy.close()
        let reported = losses.withLockedValue { $0 }
        #expect(reported.map(\.kind) == [.logBeginningGone])
        #expect(reported.first.map { [$0.firstLost, $0.lastLost] } == [0, firstKept - 1])
        withExtendedLifetime(broker) {}
    }
}
