import ArgumentParser
import Foundation
import KafkaBridge
import Logging

/// `newsalert bench kafka`: produce N messages through KafkaBridge and consume them back.
struct KafkaBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kafka",
        abstract: "Produce N messages and consume them back; print produce/consume msgs/s and produce→consume latency.",
        discussion: """
            Phase 1 produces N messages as fast as possible (produce throughput, until every one is acknowledged).
            Phase 2 reads them all with a fresh consumer group (consume throughput). Phase 3 sends
            --latency-messages at --rate msgs/s while a group member reads them (produce→consume latency).
            Without --bootstrap-servers it runs against an embedded 3-broker cluster.
            """
    )

    @OptionGroup var kafka: KafkaOptions
    @Option(help: "Messages to produce.") var messages: Int = 1_000_000
    @Option(help: "Value size in bytes (at least 16).") var size: Int = 200
    @Option(help: "Partitions of the benchmark topic (default: enough to stay under the embedded broker's 5 MiB per-partition retention).")
    var partitions: Int?
    @Option(help: "Producer linger.ms.") var lingerMs: Int = 5
    @Option(help: "Messages sent at a steady rate for the latency phase.") var latencyMessages: Int = 20_000
    @Option(help: "Rate of the latency phase, msgs/s.") var rate: Int = 5_000

    func validate() throws {
        guard messages > 0 else { throw ValidationError("--messages must be positive") }
        guard size >= 16 else { throw ValidationError("--size must be at least 16 bytes (the value carries a timestamp)") }
    }

    func run() async throws {
        CommandLogging.bootstrap()
        let logger = CommandLogging.logger("bench")
        let topicPartitions = partitions ?? Swift.max(12, (messages * (size + 64)) / (3 * 1024 * 1024) + 1)
        let topic = "bench.kafka.\(UUID().uuidString.prefix(8))"
        let latencyTopic = topic + ".latency"

        var embedded: EmbeddedKafkaBroker?
        let configuration: KafkaConfiguration
        if let servers = kafka.resolvedBootstrapServers {
            configuration = try kafka.configuration(bootstrapServers: servers)
            let admin = try KafkaAdmin(configuration: configuration, logger: logger)
            try await admin.createTopics([
                KafkaTopicSpecification(name: topic, partitions: topicPartitions, replicationFactor: 1),
                KafkaTopicSpecification(name: latencyTopic, partitions: 12, replicationFactor: 1),
            ])
        } else {
            let broker = try EmbeddedKafkaBroker(brokers: 3, logger: logger)
            try broker.createTopic(topic, partitions: topicPartitions)
            try broker.createTopic(latencyTopic, partitions: 12)
            configuration = try kafka.configuration(bootstrapServers: broker.bootstrapServers)
            embedded = broker
        }
        printLine("bench kafka: \(messages) messages of \(size) B, topic \(topic) with \(topicPartitions) partitions, \(embedded == nil ? "cluster \(configuration.bootstrapServers)" : "embedded 3-broker cluster"), idempotent producer acks=all linger.ms=\(lingerMs)")

        let clock = ContinuousClock()
        let origin = clock.now
        var producerConfiguration = KafkaProducerConfiguration(kafka: configuration)
        producerConfiguration.lingerMilliseconds = lingerMs
        let producer = try KafkaProducer(configuration: producerConfiguration, logger: logger)

        // Phase 1: produce everything as fast as the producer takes it, for produce throughput.
        let produceStart = clock.now
        try await produce(messages, to: topic, with: producer, origin: origin, clock: clock, pace: nil)
        try await producer.flush(timeout: .seconds(120))
        let produceSeconds = (clock.now - produceStart).seconds

        // Phase 2: a fresh group reads everything back, for consume throughput.
        let replayConsumer = try makeConsumer(configuration, topic: topic, logger: logger)
        let replay = try await drain(replayConsumer, expecting: messages, origin: origin, clock: clock, keepLatencies: false)
        await replayConsumer.close()

        // Phase 3: produce at a steady rate while a member reads, for produce→consume latency.
        let liveConsumer = try makeConsumer(configuration, topic: latencyTopic, logger: logger)
        let consumeTask = Task { try await drain(liveConsumer, expecting: latencyMessages, origin: origin, clock: clock, keepLatencies: true) }
        try await waitForAssignment(liveConsumer)
        try await produce(latencyMessages, to: latencyTopic, with: producer, origin: origin, clock: clock, pace: rate)
        try await producer.flush(timeout: .seconds(120))
        let live = try await consumeTask.value
        await liveConsumer.close()
        let failures = producer.unawaitedFailures
        await producer.shutdown()

        let latency = LatencySummary(live.latenciesMilliseconds)
        printLine("produce:  \(formatRate(Double(messages) / produceSeconds)) msgs/s (\(String(format: "%.2f", produceSeconds)) s until all \(messages) were acknowledged; failed \(failures))")
        printLine("consume:  \(formatRate(Double(replay.count) / replay.seconds)) msgs/s (a fresh group read \(replay.count) records in \(String(format: "%.2f", replay.seconds)) s)")
        printLine("latency:  produce→consume p50 \(String(format: "%.2f", latency.p50)) ms, p99 \(String(format: "%.2f", latency.p99)) ms, max \(String(format: "%.2f", latency.max)) ms (\(latency.count) messages at \(rate) msgs/s)")
        printLine("summary: kafka produce \(formatRate(Double(messages) / produceSeconds))/s, consume \(formatRate(Double(replay.count) / replay.seconds))/s, latency p50 \(String(format: "%.1f", latency.p50)) ms p99 \(String(format: "%.1f", latency.p99)) ms at \(rate)/s")
        withExtendedLifetime(embedded) {}
        if replay.count != messages || live.count != latencyMessages || failures > 0 {
            printLine("LOST: read \(replay.count) of \(messages) and \(live.count) of \(latencyMessages); \(failures) sends failed")
            throw ExitCode.failure
        }
    }

    /// Sends `count` values carrying their send time; with `pace`, at that many messages per second.
    private func produce(_ count: Int, to topic: String, with producer: KafkaProducer, origin: ContinuousClock.Instant, clock: ContinuousClock, pace: Int?) async throws {
        var value = [UInt8](repeating: 0x61, count: size)
        let started = clock.now
        for index in 0..<count {
            if let pace, index % 100 == 0 {
                let due = started + .microseconds(Int64(index) * 1_000_000 / Int64(pace))
                if due > clock.now { try await Task.sleep(until: due, clock: clock) }
            }
            let sentAt = UInt64((clock.now - origin) / .nanoseconds(1))
            withUnsafeBytes(of: sentAt.littleEndian) { value.replaceSubrange(0..<8, with: $0) }
            try await producer.sendAndForget(KafkaOutgoingMessage(topic: topic, key: Array("k\(index)".utf8), value: value))
        }
    }

    private func makeConsumer(_ configuration: KafkaConfiguration, topic: String, logger: Logger) throws -> KafkaConsumer {
        var consumerConfiguration = KafkaConsumerConfiguration(kafka: configuration, groupID: "bench-\(UUID().uuidString)", topics: [topic])
        consumerConfiguration.maxBatchSize = 1000
        consumerConfiguration.fetchWaitMaxMilliseconds = 20
        return try KafkaConsumer(configuration: consumerConfiguration, logger: logger)
    }

    private func waitForAssignment(_ consumer: KafkaConsumer) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while consumer.assignment.isEmpty {
            guard ContinuousClock.now < deadline else { throw ValidationError("the consumer was assigned no partition within 30 s") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    private struct DrainResult: Sendable {
        var count = 0
        var seconds = 0.0
        var latenciesMilliseconds: [Double] = []
    }

    /// Reads until `expecting` records arrived or 20 s pass without one.
    private func drain(_ consumer: KafkaConsumer, expecting: Int, origin: ContinuousClock.Instant, clock: ContinuousClock, keepLatencies: Bool) async throws -> DrainResult {
        var result = DrainResult()
        if keepLatencies { result.latenciesMilliseconds.reserveCapacity(expecting) }
        var firstAt: ContinuousClock.Instant?
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            let progress = ProgressClock()
            tasks.addTask {
                while true {
                    try await Task.sleep(for: .seconds(1))
                    if await progress.idleSeconds() > 20 { throw ValidationError("no record for 20 s; stopping") }
                }
            }
            for try await record in consumer.records {
                let now = clock.now
                if firstAt == nil { firstAt = now }
                if keepLatencies {
                    let sentAt = record.value.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
                    let receivedAt = UInt64((now - origin) / .nanoseconds(1))
                    result.latenciesMilliseconds.append(Double(receivedAt &- sentAt) / 1e6)
                }
                result.count += 1
                if result.count % 1000 == 0 {
                    try consumer.markDone(record)
                    await progress.touch()
                }
                if result.count >= expecting { break }
            }
            tasks.cancelAll()
        }
        result.seconds = (clock.now - (firstAt ?? clock.now)).seconds
        return result
    }
}

/// When progress was last made, for idle timeouts.
actor ProgressClock {
    private var instant = ContinuousClock.now
    func touch() { instant = .now }
    func idleSeconds() -> Double { (ContinuousClock.now - instant).seconds }
}
