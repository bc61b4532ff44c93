import Foundation
import Hummingbird
import KafkaBridge
import Logging
import NewsAlertCore
import NewsAlertHTTP
import NewsAlertStore
import ServiceLifecycle

/// Everything one `newsalert serve` process runs, assembled in dependency order:
/// the embedded broker (unless a cluster is given), the producer, the enrich stage, and the HTTP server.
public struct NewsAlertNode: Sendable {
    public struct Options: Sendable {
        /// A real cluster; `nil` starts the embedded broker.
        public var kafka: KafkaConfiguration?
        public var embeddedBrokers = 3
        public var replicationFactor = 3
        public var host = "127.0.0.1"
        /// 0 picks a free port (reported through `onListening`).
        public var port = 8080
        public var dataDirectory = "./data"
        public var ingest = IngestConfiguration()
        /// The ingest path waits for each acknowledgement, so it batches little: keep the linger short.
        public var producerLingerMilliseconds = 1
        /// How long `POST /v1/events` waits for Kafka before answering 503 (nothing published).
        public var ingestDeliveryTimeoutMilliseconds = 15_000
        public var enrich = EnrichService.Configuration()

        public init() {}
    }

    public let bootstrapServers: String
    public let database: AppDatabase
    /// In start order; a `ServiceGroup` stops them in reverse (HTTP first, the broker last).
    public let services: [any Service]

    public init(options: Options, logger: Logger, onListening: @escaping @Sendable (String) async -> Void) async throws {
        var services: [any Service] = []
        let kafka: KafkaConfiguration
        if let configured = options.kafka {
            kafka = configured
            let admin = try KafkaAdmin(configuration: kafka, logger: logger)
            try await TopicProvisioner.ensure(with: admin, replicationFactor: options.replicationFactor)
        } else {
            let broker = try EmbeddedKafkaBroker(brokers: options.embeddedBrokers, logger: logger)
            try TopicProvisioner.ensure(on: broker)
            kafka = KafkaConfiguration(bootstrapServers: broker.bootstrapServers)
            services.append(broker)
        }
        bootstrapServers = kafka.bootstrapServers
        database = try AppDatabase.open(directory: options.dataDirectory)

        // The pipeline's producer keeps retrying for as long as librdkafka's default allows; the ingest
        // producer gives up sooner, because a newsroom client is waiting for the answer.
        let pipelineProducer = try KafkaProducer(configuration: KafkaProducerConfiguration(kafka: kafka), logger: logger)
        services.append(pipelineProducer)
        services.append(try EnrichService(kafka: kafka, producer: pipelineProducer, database: database, configuration: options.enrich, logger: logger))
        var producerConfiguration = KafkaProducerConfiguration(kafka: kafka)
        producerConfiguration.lingerMilliseconds = options.producerLingerMilliseconds
        producerConfiguration.messageTimeoutMilliseconds = options.ingestDeliveryTimeoutMilliseconds
        let producer = try KafkaProducer(configuration: producerConfiguration, logger: logger)
        services.append(producer)
        let publisher = KafkaNewsEventPublisher(producer: producer, admin: try KafkaAdmin(configuration: kafka, logger: logger))
        let router = try NewsAlertRouter.make(database: database, publisher: publisher, configuration: options.ingest, logger: logger)
        services.append(HTTPServer.application(router: router, host: options.host, port: options.port, logger: logger, onListening: onListening))
        self.services = services
    }

    /// Runs every service until SIGTERM/SIGINT (or until the calling task is cancelled), then stops them in reverse order.
    public func run(logger: Logger) async throws {
        let group = ServiceGroup(
            configuration: .init(
                services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }
}
