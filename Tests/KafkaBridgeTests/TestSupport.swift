import Foundation
import KafkaBridge
import Logging

/// Shared helpers: an embedded cluster per test, bounded waits, record collection.
enum TestSupport {
    static let logger: Logger = {
        var logger = Logger(label: "newsalert.tests.kafka")
        logger.logLevel = ProcessInfo.processInfo.environment["NEWSALERT_TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .error
        return logger
    }()

    static func uniqueName(_ prefix: String) -> String {
        "\(prefix).\(UUID().uuidString.prefix(8).lowercased())"
    }

    static func producer(_ broker: EmbeddedKafkaBroker, configure: (inout KafkaProducerConfiguration) -> Void = { _ in }) throws -> KafkaProducer {
        var configuration = KafkaProducerConfiguration(kafka: KafkaConfiguration(bootstrapServers: broker.bootstrapServers))
        configure(&configuration)
        return try KafkaProducer(configuration: configuration, logger: logger)
    }

    static func consumer(_ broker: EmbeddedKafkaBroker, group: String, topic: String) throws -> KafkaConsumer {
        var configuration = KafkaConsumerConfiguration(
            kafka: KafkaConfiguration(bootstrapServers: broker.bootstrapServers), groupID: group, topics: [topic])
        configuration.commitIntervalMilliseconds = 200
        configuration.sessionTimeoutMilliseconds = 6000
        return try KafkaConsumer(configuration: configuration, logger: logger)
    }

    /// Polls `condition` every 50 ms until it holds; throws after `timeout`.
    static func waitUntil(_ what: String, timeout: Duration = .seconds(30), _ condition: @Sendable () async -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while !(await condition()) {
            guard ContinuousClock.now < deadline else { throw TestTimeout(what: what) }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}

struct TestTimeout: Error, CustomStringConvertible {
    let what: String
    var description: String { "timed out waiting for \(what)" }
}

/// Collects records from one or more consumers, remembering which member saw each.
actor RecordCollector {
    private(set) var records: [(member: String, record: KafkaRecord)] = []

    func add(_ record: KafkaRecord, member: String) {
        records.append((member, record))
    }

    var count: Int { records.count }

    /// `topic[partition]@offset` of every record seen, once per sighting.
    var positions: [String] { records.map { "\($0.record.topic)[\($0.record.partition)]@\($0.record.offset)" } }

    func members(of record: String) -> [String] {
        records.filter { "\($0.record.topic)[\($0.record.partition)]@\($0.record.offset)" == record }.map(\.member)
    }
}

extension KafkaConsumer {
    /// Reads records into `collector`, marking each done right after it is collected.
    func collect(into collector: RecordCollector, member: String, markDone: Bool = true) async throws {
        for try await record in records {
            await collector.add(record, member: member)
            if markDone { try? self.markDone(record) }
        }
    }
}

extension KafkaDeliveryReceipt {
    var position: String { "\(topic)[\(partition)]@\(offset)" }
}
