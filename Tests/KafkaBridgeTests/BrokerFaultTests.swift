import Foundation
import KafkaBridge
import Testing

@Suite("Broker faults")
struct BrokerFaultTests {
    @Test("partition leader down mid-run: every send succeeds after recovery or reports an error; none vanish")
    func leaderDownAndUp() async throws {
        let broker = try EmbeddedKafkaBroker(brokers: 3, logger: TestSupport.logger)
        let topic = TestSupport.uniqueName("fault")
        try broker.createTopic(topic, partitions: 1)
        try broker.setPartitionLeader(topic: topic, partition: 0, broker: 1)
        let producer = try TestSupport.producer(broker) { $0.messageTimeoutMilliseconds = 20_000 }
        let total = 1_000

        let outcomes = try await withThrowingTaskGroup(of: Result<KafkaDeliveryReceipt, KafkaError>.self) { group in
            for index in 0..<total {
                group.addTask {
                    do {
                        return .success(try await producer.send(KafkaOutgoingMessage(topic: topic, key: "k\(index)", value: "v\(index)")))
                    } catch let error as KafkaError {
                        return .failure(error)
                    }
                }
                if index == total / 4 {
                    try broker.setBroker(1, up: false)
                }
                if index % 50 == 0 { try await Task.sleep(for: .milliseconds(10)) }
            }
            try await Task.sleep(for: .seconds(2))
            try broker.setBroker(1, up: true)
            var outcomes: [Result<KafkaDeliveryReceipt, KafkaError>] = []
            for try await outcome in group { outcomes.append(outcome) }
            return outcomes
        }
        #expect(outcomes.count == total, "every send returned")
        let delivered = outcomes.compactMap { try? $0.get() }
        let failures = outcomes.compactMap { if case .failure(let error) = $0 { error } else { nil } }
        #expect(failures.allSatisfy { !$0.message.isEmpty })

        // Everything acknowledged is in the log, exactly once (idempotent producer).
        let consumer = try TestSupport.consumer(broker, group: TestSupport.uniqueName("g"), topic: topic)
        var offsets: [Int64] = []
        var keys: [String] = []
        for try await record in consumer.records {
            offsets.append(record.offset)
            keys.append(String(decoding: record.key ?? [], as: UTF8.self))
            if offsets.count == delivered.count { break }
        }
        await consumer.close()
        #expect(Set(offsets) == Set(delivered.map(\.offset)))
        #expect(keys.count == Set(keys).count, "no duplicates after retries")
        withExtendedLifetime(broker) {}
    }

    @Test("a leader that stays down past message.timeout.ms makes sends fail with a retriable error, not hang")
    func leaderStaysDown() async throws {
        let broker = try EmbeddedKafkaBroker(brokers: 3, logger: TestSupport.logger)
        let topic = TestSupport.uniqueName("down")
        try broker.createTopic(topic, partitions: 1)
        try broker.setPartitionLeader(topic: topic, partition: 0, broker: 2)
        let producer = try TestSupport.producer(broker) { $0.messageTimeoutMilliseconds = 2_000 }
        _ = try await producer.send(KafkaOutgoingMessage(topic: topic, key: "warm", value: "up"))
        try broker.setBroker(2, up: false)
        do {
            _ = try await producer.send(KafkaOutgoingMessage(topic: topic, key: "lost?", value: "no: reported"))
            Issue.record("send to a downed leader succeeded")
        } catch let error as KafkaError {
            #expect(error.kind == .delivery)
            #expect(error.isRetriable)
        }
        try broker.setBroker(2, up: true)
        withExtendedLifetime(broker) {}
    }
}
