import ArgumentParser
import Foundation
import KafkaBridge
import NewsAlertServices
import ServiceLifecycle

/// `newsalert broker`: an embedded Kafka cluster for development and tests.
struct BrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broker",
        abstract: "Run the embedded Kafka broker (memory only, bounded retention) until SIGINT/SIGTERM.",
        discussion: "Prints `bootstrap.servers=HOST:PORT,...` on standard output once it listens."
    )

    @Option(help: "Number of brokers in the embedded cluster.")
    var brokers: Int = 3

    @Option(help: "Also write the bootstrap servers to this file (atomically), for scripts.")
    var portFile: String?

    @Option(name: .customLong("topic"), help: "Create a topic at start, NAME:PARTITIONS; repeatable. Other topics are auto-created with 4 partitions.")
    var topics: [String] = []

    @Flag(help: "Do not create newsalert's own topics (news.events, news.enriched, …) at start.")
    var withoutNewsalertTopics = false

    func run() async throws {
        CommandLogging.bootstrap()
        let logger = CommandLogging.logger("broker")
        let broker = try EmbeddedKafkaBroker(brokers: brokers, logger: logger)
        for topic in topics {
            let parts = topic.split(separator: ":")
            guard parts.count == 2, let partitions = Int(parts[1]), partitions > 0 else {
                throw ValidationError("--topic expects NAME:PARTITIONS, got \"\(topic)\"")
            }
            try broker.createTopic(String(parts[0]), partitions: partitions)
        }
        // After --topic, so an explicit layout wins over newsalert's default one.
        if !withoutNewsalertTopics { try TopicProvisioner.ensure(on: broker) }
        if let portFile {
            // Written whole (atomically), so a script polling for the file never reads half of it.
            try Data((broker.bootstrapServers + "\n").utf8).write(to: URL(fileURLWithPath: portFile), options: .atomic)
        }
        printLine("bootstrap.servers=\(broker.bootstrapServers)")
        let group = ServiceGroup(
            configuration: .init(services: [.init(service: broker)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
