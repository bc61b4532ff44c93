import Foundation
import KafkaBridge
import Testing

@Suite("Consumer groups")
struct ConsumerGroupTests {
    @Test("two members split 6 partitions; when one leaves the other takes over and nothing is skipped")
    func twoMembersThenOne() async throws {
        let broker = try EmbeddedKafkaBroker(brokers: 3, logger: TestSupport.logger)
        let topic = TestSupport.uniqueName("group")
        try broker.createTopic(topic, partitions: 6)
        let group = TestSupport.uniqueName("g")
        let producer = try TestSupport.producer(broker)
        let first = try TestSupport.consumer(broker, group: group, topic: topic)
        let second = try TestSupport.consumer(broker, group: group, topic: topic)
        let collector = RecordCollector()

        let firstTask = Task { try await first.collect(into: collector, member: "first") }
        let secondTask = Task { try await second.collect(into: collector, member: "second") }
        try await TestSupport.waitUntil("both members to own 3 partitions each") {
            first.assignment.count == 3 && second.assignment.count == 3
        }
        #expect(first.assignment.isDisjoint(with: second.assignment))

        var receipts: [KafkaDeliveryReceipt] = []
        for index in 0..<300 {
            receipts.append(try await producer.send(KafkaOutgoingMessage(topic: topic, key: "k\(index)", value: "v\(index)")))
        }
        try await TestSupport.waitUntil("the first 300 records") { await Set(collector.positions).count >= 300 }
        #expect(Set(await collector.records.map(\.member)) == ["first", "second"])

        // The second member leaves (commits what it marked done); the first takes all partitions over.
        await second.close()
        _ = try? await secondTask.value
        try await TestSupport.waitUntil("the remaining member to own all 6 partitions") { first.assignment.count == 6 }
        for index in 300..<600 {
            receipts.append(try await producer.send(KafkaOutgoingMessage(topic: topic, key: "k\(index)", value: "v\(index)")))
        }
        // Unique records: at-least-once allows a record to come twice around the rebalance (read by the
        // leaving member, not yet marked done when its partition moved), never to be skipped.
        try await TestSupport.waitUntil("all 600 records") { await Set(collector.positions).count >= 600 }
        await first.close()
        _ = try? await firstTask.value

        let positions = await collector.positions
        #expect(Set(positions) == Set(receipts.map(\.position)), "every produced record was consumed")
        withExtendedLifetime(broker) {}
    }
}
