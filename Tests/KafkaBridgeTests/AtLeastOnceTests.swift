import Foundation
import KafkaBridge
import Testing

@Suite("At-least-once offsets")
struct AtLeastOnceTests {
    /// Produces `count` records to a one-partition topic.
    private func prepare(_ broker: EmbeddedKafkaBroker, count: Int) async throws -> String {
        let topic = TestSupport.uniqueName("alo")
        try broker.createTopic(topic, partitions: 1)
        let producer = try TestSupport.producer(broker)
        for index in 0..<count {
            _ = try await producer.send(KafkaOutgoingMessage(topic: topic, key: "k\(index)", value: "v\(index)"))
        }
        return topic
    }

    @Test("a member cancelled before marking records done gets them again; done records are not redelivered")
    func cancelledMemberRedelivers() async throws {
        let broker = try EmbeddedKafkaBroker(brokers: 1, logger: TestSupport.logger)
        let topic = try await prepare(broker, count: 100)
        let group = TestSupport.uniqueName("g")

        // First member: reads all 100 but finishes (marks done) only offsets 0...49, then is cancelled mid-work.
        let crashing = try TestSupport.consumer(broker, group: group, topic: topic)
        let reader = Task {
            var read = 0
            for try await record in crashing.records {
                if record.offset < 50 { try crashing.markDone(record) }
                read += 1
                if read == 100 { try await Task.sleep(for: .seconds(3600)) }  // "busy" until cancelled
            }
        }
        try await TestSupport.waitUntil("the committed offset to reach 50") {
            (try? await crashing.committedOffsets(for: [KafkaTopicPartition(topic: topic, partition: 0)]))?.values.first == 50
        }
        reader.cancel()
        _ = try? await reader.value
        await crashing.close()

        // A restarted member resumes exactly after the last record marked done.
        let restarted = try TestSupport.consumer(broker, group: group, topic: topic)
        var offsets: [Int64] = []
        for try await record in restarted.records {
            offsets.append(record.offset)
            try restarted.markDone(record)
            if offsets.count == 50 { break }
        }
        await restarted.close()
        #expect(offsets == Array(50..<100))
        withExtendedLifetime(broker) {}
    }

    @Test("a member that never marks anything done leaves everything to be read again")
    func nothingMarkedNothingCommitted() async throws {
        let broker = try EmbeddedKafkaBroker(brokers: 1, logger: TestSupport.logger)
        let topic = try await prepare(broker, count: 20)
        let group = TestSupport.uniqueName("g")

        let careless = try TestSupport.consumer(broker, group: group, topic: topic)
        var firstRead = 0
        for try await _ in careless.records {
            firstRead += 1
            if firstRead == 20 { break }
        }
        await careless.close()

        let again = try TestSupport.consumer(broker, group: group, topic: topic)
        var offsets: [Int64] = []
        for try await record in again.records {
            offsets.append(record.offset)
            if offsets.count == 20 { break }
        }
        await again.close()
        #expect(offsets == Array(0..<20))
        withExtendedLifetime(broker) {}
    }
}
