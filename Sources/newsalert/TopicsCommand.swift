import ArgumentParser
import Foundation
import KafkaBridge
import NewsAlertCore
import NewsAlertServices

/// `newsalert topics ...`: topic administration and a line-oriented producer/consumer.
struct TopicsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topics",
        abstract: "Create, list, write and read Kafka topics on any cluster.",
        subcommands: [Ensure.self, Create.self, List.self, Produce.self, Consume.self]
    )

    struct Ensure: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create every newsalert topic that is missing, with the partitions, retention and compaction of schemas/asyncapi.yaml.")

        @OptionGroup var kafka: KafkaOptions
        @Option(help: "Replication factor of created topics.") var replicationFactor: Int = 3
        @Flag(help: "Print the layout `ensure` creates, one JSON object a line, without reaching a cluster.") var dryRun = false

        func run() async throws {
            if dryRun {
                for topic in NewsTopics.all { printLine(try TopicLayoutLine(topic).json()) }
                return
            }
            CommandLogging.bootstrap()
            let admin = try KafkaAdmin(configuration: try kafka.requiredConfiguration(), logger: CommandLogging.logger("topics"))
            let created = try await TopicProvisioner.ensure(with: admin, replicationFactor: replicationFactor)
            for topic in NewsTopics.all {
                let configs = topic.configs.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
                printLine("\(created.contains(topic.name) ? "created" : "exists ")\t\(topic.name)\tpartitions=\(topic.partitions)\t\(configs)")
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a topic.")

        @OptionGroup var kafka: KafkaOptions
        @Argument(help: "Topic name.") var name: String
        @Option(help: "Number of partitions.") var partitions: Int = 6
        @Option(help: "Replication factor.") var replicationFactor: Int = 1
        @Option(name: .customLong("topic-config"), help: "Topic config KEY=VALUE (e.g. cleanup.policy=compact); repeatable.")
        var configs: [String] = []
        @Flag(help: "Succeed if the topic already exists.") var ifNotExists = false

        func run() async throws {
            CommandLogging.bootstrap()
            var topicConfigs: [String: String] = [:]
            for entry in configs {
                let parts = entry.split(separator: "=", maxSplits: 1)
                guard parts.count == 2 else { throw ValidationError("--topic-config expects KEY=VALUE, got \"\(entry)\"") }
                topicConfigs[String(parts[0])] = String(parts[1])
            }
            let admin = try KafkaAdmin(configuration: try kafka.requiredConfiguration(), logger: CommandLogging.logger("topics"))
            try await admin.createTopics(
                [KafkaTopicSpecification(name: name, partitions: partitions, replicationFactor: replicationFactor, configs: topicConfigs)],
                ignoreExisting: ifNotExists)
            printLine("created \(name) partitions=\(partitions) replication=\(replicationFactor)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List topics with their partition counts.")

        @OptionGroup var kafka: KafkaOptions
        @Option(help: "Seconds to wait for a broker.") var timeout: Int = 10

        func run() async throws {
            CommandLogging.bootstrap()
            let admin = try KafkaAdmin(configuration: try kafka.requiredConfiguration(), logger: CommandLogging.logger("topics"))
            for topic in try await admin.listTopics(timeout: .seconds(timeout)) {
                printLine("\(topic.name)\tpartitions=\(topic.partitions.count)" + (topic.error.map { "\terror=\($0)" } ?? ""))
            }
        }
    }

    struct Produce: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send each line of standard input as a record (KEY<TAB>VALUE with --key-separator tab).",
            discussion: "Prints topic, partition and offset of each acknowledged record.")

        @OptionGroup var kafka: KafkaOptions
        @Argument(help: "Topic name.") var topic: String
        @Option(help: "Split each line into key and value at the first occurrence of this separator.") var keySeparator: String?
        @Option(name: .customLong("header"), help: "Header KEY=VALUE added to every record; repeatable.") var headers: [String] = []

        func run() async throws {
            CommandLogging.bootstrap()
            let producer = try KafkaProducer(
                configuration: KafkaProducerConfiguration(kafka: try kafka.requiredConfiguration()), logger: CommandLogging.logger("produce"))
            let recordHeaders = headers.map { entry -> KafkaHeader in
                let parts = entry.split(separator: "=", maxSplits: 1)
                return KafkaHeader(key: String(parts[0]), string: parts.count > 1 ? String(parts[1]) : "")
            }
            while let line = readLine(strippingNewline: true) {
                var key: String?
                var value = line
                if let separator = keySeparator.map({ $0 == "tab" ? "\t" : $0 }), let range = line.range(of: separator) {
                    key = String(line[..<range.lowerBound])
                    value = String(line[range.upperBound...])
                }
                let receipt = try await producer.send(KafkaOutgoingMessage(topic: topic, key: key, value: value, headers: recordHeaders))
                printLine("\(receipt.topic)\t\(receipt.partition)\t\(receipt.offset)")
            }
            await producer.shutdown()
        }
    }

    struct Consume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read records as a consumer-group member and print each as one JSON line.",
            discussion: "Each record is marked done (its offset committed) after it is printed.")

        @OptionGroup var kafka: KafkaOptions
        @Argument(help: "Topic name.") var topic: String
        @Option(help: "Consumer group id.") var group: String = "newsalert-cli"
        @Option(help: "Stop after this many records.") var count: Int?
        @Option(help: "Stop after this many seconds without a record.") var idleTimeout: Double?

        func run() async throws {
            CommandLogging.bootstrap()
            var configuration = KafkaConsumerConfiguration(kafka: try kafka.requiredConfiguration(), groupID: group, topics: [topic])
            configuration.offsetReset = .earliest
            let consumer = try KafkaConsumer(configuration: configuration, logger: CommandLogging.logger("consume"))
            let idle = idleTimeout
            let printed = try await withThrowingTaskGroup(of: Int.self) { tasks in
                let lastSeen = ProgressClock()
                tasks.addTask {
                    var seen = 0
                    for try await record in consumer.records {
                        printLine(try RecordJSON.line(for: record))
                        try consumer.markDone(record)
                        seen += 1
                        await lastSeen.touch()
                        if let count, seen >= count { break }
                    }
                    return seen
                }
                if let idle {
                    tasks.addTask {
                        while await lastSeen.idleSeconds() < idle { try await Task.sleep(for: .milliseconds(100)) }
                        return -1
                    }
                }
                let first = try await tasks.next() ?? 0
                tasks.cancelAll()
                return first
            }
            await consumer.close()
            if printed < 0, let idle { FileHandle.standardError.write(Data("no record for \(idle) s; stopping\n".utf8)) }
        }
    }
}

/// The JSON shape `topics consume` prints: text as UTF-8 strings, anything else in base64.
enum RecordJSON {
    static func line(for record: KafkaRecord) throws -> String {
        var object: [String: Any] = [
            "topic": record.topic, "partition": Int(record.partition), "offset": Int(record.offset),
            "value": text(record.value),
        ]
        object["key"] = record.key.map(text) ?? NSNull()
        object["headers"] = Dictionary(record.headers.map { ($0.key, $0.value.map(text) ?? NSNull()) }) { first, _ in first }
        if let timestamp = record.timestamp { object["timestamp_ms"] = Int(timestamp.timeIntervalSince1970 * 1000) }
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }

    private static func text(_ bytes: [UInt8]) -> Any {
        if let string = String(validating: bytes, as: UTF8.self) { return string }
        return ["base64": Data(bytes).base64EncodedString()]
    }
}

/// One topic of `topics ensure --dry-run`: what a deployment creates on its own cluster.
private struct TopicLayoutLine: Encodable {
    var name: String
    var partitions: Int
    var retentionMs: Int64?
    var cleanupPolicy: String
    var purpose: String

    init(_ topic: NewsTopic) {
        name = topic.name
        partitions = topic.partitions
        retentionMs = topic.retentionMilliseconds
        cleanupPolicy = topic.cleanupPolicy
        purpose = topic.purpose
    }

    func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}
