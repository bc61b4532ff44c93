import ArgumentParser
import KafkaBridge
import NewsAlertServices
import NewsAlertStore
import ServiceLifecycle

/// `newsalert enrich`: the enrich role alone, against a Kafka cluster.
struct EnrichCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enrich",
        abstract: "Run the enrich stage: news.events → enrichment + story threading → news.enriched.",
        discussion: "Poison records go to news.deadletter. The story index is kept in the data directory's SQLite file.")

    @OptionGroup var kafka: KafkaOptions
    @OptionGroup var data: DataDirectoryOption
    @Option(help: "Consumer group id.") var group: String = "newsalert-enrich"

    func run() async throws {
        CommandLogging.bootstrap()
        let logger = CommandLogging.logger("enrich")
        let configuration = try kafka.requiredConfiguration()
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(kafka: configuration), logger: logger)
        var enrichConfiguration = EnrichService.Configuration()
        enrichConfiguration.groupID = group
        let service = try EnrichService(
            kafka: configuration, producer: producer, database: try AppDatabase.open(directory: data.resolved),
            configuration: enrichConfiguration, logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: producer), .init(service: service)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
