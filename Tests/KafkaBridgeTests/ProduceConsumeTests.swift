import Foundation
import KafkaBridge
import Testing

@Suite("Produce and consume through the embedded broker")
struct ProduceConsumeTests {
    @Test("10,000 records arrive once each with key, value and headers intact")
    func roundTripTenThousand() async throws {
        let broker = try EmbeddedKafkaBroker(brokers: 3, logger: TestSupport.logger)
        let topic = TestSupport.uniqueName("roundtrip")
        try broker.createTopic(topic, partitions: 6)
        let producer = try TestSupport.producer(broker)
        let total = 10_000

        var expected: [String: (value: [UInt8], headers: [KafkaHeader])] = [:]
        try await withThrowingTaskGroup(of: KafkaDeliveryReceipt.self) { group in
            for index in 0..<total {
                let key = "key-\(index)"
                // Binary values, an empty header value and a valueless header exercise every byte path.
                let value: [UInt8] = Array("value-\(index)-ü".utf8) + [0, 255, UInt8(index % 256)]
                let headers = [KafkaHeader(key: "index", string: String(index)), KafkaHeader(key: "empty", value: []), KafkaHeader(key: "null", value: nil)]
                expected[key] = (value, headers)
                let message = KafkaOutgoingMessage(topic: topic, key: Array(key.utf8), value: value, headers: headers)
                if index % 2 == 0 {
                    group.addTask { try await producer.send(message) }
                } else {
                    try await producer.sendAndForget(message)
                }
            }
            var receipts = Set<KafkaDeliveryReceipt>()
            for try await receipt in group { receipts.insert(receipt) }
            #expect(receipts.count == total / 2)
        }
        try await producer.flush()
        #expect(producer.unawaitedFailures == 0)

        let consumer = try TestSupport.consumer(broker, group: TestSupport.uniqueName("g"), topic: topic)
        var seen: [String: Int] = [:]
        for try await record in consumer.records {
            let key = String(decoding: record.key ?? [], as: UTF8.self)
            seen[key, default: 0] += 1
            let want = try #require(expected[key])
            #expect(record.value == want.value)
            #expect(record.headers == want.headers)
            #expect(record.timestamp != nil)
            try consumer.markDone(record)
            if seen.count == total { break }
        }
        await consumer.close()
        #expect(seen.count == total)
        #expect(seen.values.allSatisfy { $0 == 1 })
        withExtendedLifetime(broker) {}
    }
}
