import Foundation
import KafkaBridge
import Testing

@Suite("Idle pause on a cluster this process writes to")
struct IdlePauseTests {
    /// A configuration whose consumers pause after `pauseAfter` without records and look for other processes' records
    /// every `probeEvery`.
    static func kafka(_ broker: EmbeddedKafkaBroker, pauseAfter: Duration, probeEvery: Duration) -> KafkaConfiguration {
        var kafka = KafkaConfiguration(bootstrapServers: broker.bootstrapServers)
        kafka.fetchWaitMaxMilliseconds = 50
        if let debug = ProcessInfo.processInfo.environment["KDEBUG"] { kafka.properties["debug"] = debug }
        kafka.idlePause = KafkaIdlePause(pauseAfter: pauseAfter, probeEvery: probeEvery, probeWindow: .milliseconds(150))
        return kafka
    }

    static func consumer(_ kafka: KafkaConfiguration, topic: String) throws -> KafkaConsumer {
        var configuration = KafkaConsumerConfiguration(kafka: kafka, groupID: TestSupport.uniqueName("g"), topics: [topic])
        configuration.commitIntervalMilliseconds = 200
        return try KafkaConsumer(configuration: configuration, logger: TestSupport.logger)
    }

    @Test("an idle consumer pauses; a record from a producer of the same process wakes it, without waiting for a probe")
    func localProducerWakesAPausedConsumer() async throws {
        let broker = try EmbeddedKafkaBroker(brokers: 1, logger: TestSupport.logger)
        let topic = TestSupport.uniqueName("idle")
        try broker.createTopic(topic, partitions: 2)
        // A probe only after an hour: whatever arrives within the test came through the wake-up.
        let kafka = Self.kafka(broker, pauseAfter: .milliseconds(300), probeEvery: .seconds(3_600))
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(kafka: kafka), logger: TestSupport.logger)
        let consumer = try Self.consumer(kafka, topic: topic)
        let collector = RecordCollector()
        let reading = Task { try await consumer.collect(into: collector, member: "only") }

        for round in 0..<3 {
            try await TestSupport.waitUntil("the consumer to own both partitions and pause for lack of records") {
                consumer.assignment.count == 2 && consumer.isPausedWhileIdle
            }
            let receipt = try await producer.send(KafkaOutgoingMessage(topic: topic, key: "k\(round)", value: "v\(round)"))
            try await TestSupport.waitUntil("record \(round) to arrive after the wake-up") {
                await collector.positions.contains(receipt.position)
            }
        }
        #expect(await collector.count == 3)
        await consumer.close()
        _ = try? await reading.value
        withExtendedLifetime(broker) {}
    }

    @Test("a paused consumer still gets records written by another process's producer, at its next probe")
    func probeFindsRecordsOfOtherProducers() async throws {
        let broker = try EmbeddedKafkaBroker(brokers: 1, logger: TestSupport.logger)
        let topic = TestSupport.uniqueName("idle")
        try broker.createTopic(topic, partitions: 1)
        let consumer = try Self.consumer(Self.kafka(broker, pauseAfter: .milliseconds(300), probeEvery: .milliseconds(500)), topic: topic)
        // A producer with its own configuration rings no doorbell the consumer listens to.
        let outsider = try TestSupport.producer(broker)
        let collector = RecordCollector()
        let reading = Task { try await consumer.collect(into: collector, member: "only") }

        try await TestSupport.waitUntil("the consumer to pause for lack of records") { consumer.isPausedWhileIdle }
        let receipt = try await outsider.send(KafkaOutgoingMessage(topic: topic, key: "k", value: "from elsewhere"))
        try await TestSupport.waitUntil("the record to arrive at a probe") { await collector.positions.contains(receipt.position) }
        try await TestSupport.waitUntil("the consumer to pause again after the probe") { consumer.isPausedWhileIdle }
        #expect(await collector.count == 1)
        await consumer.close()
        _ = try? await reading.value
        withExtendedLifetime(broker) {}
    }
}
