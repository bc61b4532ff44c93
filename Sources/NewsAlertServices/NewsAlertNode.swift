import Foundation
import Hummingbird
import KafkaBridge
import Logging
import NewsAlertCore
import NewsAlertDelivery
import NewsAlertHTTP
import NewsAlertStore
import ServiceLifecycle

/// Everything one newsalert process runs, assembled in dependency order: the embedded broker (unless a cluster
/// is given), the producers, the roles asked for, and the HTTP server (API, pages, health) that every process has.
public struct NewsAlertNode: Sendable {
    /// A stage of the pipeline; `newsalert serve` runs them all, the role commands one each.
    public enum Role: String, Sendable, CaseIterable {
        case enrich, fanout
        case deliverWebhook = "deliver-webhook"
        case deliverEmail = "deliver-email"
        case ticker
    }

    public struct Options: Sendable {
        public var roles = Set(Role.allCases)
        /// A real cluster; `nil` starts the embedded broker.
        public var kafka: KafkaConfiguration?
        public var embeddedBrokers = 1
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
        public var fanout = FanoutService.Configuration()
        public var delivery = DeliveryWorker.Configuration()
        public var webhook = WebhookSender.Configuration()
        /// CIDRs and host names webhooks may reach despite the SSRF guard (e.g. 127.0.0.1/32 on premises).
        public var webhookAllowlist: [String] = []
        /// Requests per second to one webhook endpoint (bursts up to the same number).
        public var webhookRatePerSecond: Double = 50
        /// Items the ticker keeps for resuming clients, and how far one client may fall behind before it is dropped.
        /// The SMTP relay for email alerts; nil turns email delivery off (alerts wait on alerts.email).
        public var smtp: SMTPRelayConfiguration?
        public var mailFrom = "newsalert <alerts@newsalert.invalid>"
        /// Where subscribers reach this service (unsubscribe links).
        public var publicURL = "http://127.0.0.1:8080"
        /// Key for signed unsubscribe links; nil uses a random key kept in the database (one-database setups).
        public var linkKey: Data?
        /// How long an email confirmation link works; an address unconfirmed for longer is deleted.
        public var confirmationWindow: TimeInterval = EmailConfirmationPolicy.defaultWindow
        /// Limits of the public signup (`POST /v1/signup`).
        public var signupLimits = SignupRoutes.Limits()
        /// Permanent email failures on one channel within a week after which the channel is disabled.
        public var bounceLimit = 3
        /// How long a graceful shutdown (SIGTERM) may take before the remaining services are cancelled.
        public var shutdownDeadline: Duration = .seconds(20)
        /// How long a broker may hold a pipeline stage's fetch while nothing is new (`fetch.wait.max.ms`).
        public var fetchWaitMilliseconds = 50
        /// On the embedded broker: idle stages pause and the process's producers wake them (see `KafkaIdlePause`).
        public var pauseIdleStages = true
        /// The Prometheus text of this process's metrics, served on `/metrics`.
        public var metricsText: @Sendable () -> String = { "" }
        public var tickerWindow = 10_000
        public var tickerClientBuffer = 1_000
        /// Browser origins allowed to open the ticker besides the server's own.
        public var tickerAllowedOrigins: Set<String> = []
        /// A GRIP proxy's base URL (Pushpin: `http://pushpin:5561`): every ticker item is published to it.
        public var gripPublishURL: String?
        /// The key a GRIP proxy signs forwarded requests with (`Grip-Sig`, Pushpin's `sig_key`); nil ignores the header.
        public var gripKey: String?

        public init() {}
    }

    public let bootstrapServers: String
    public let database: AppDatabase
    /// In start order; a `ServiceGroup` stops them in reverse (HTTP first).
    public let services: [any Service]
    /// The embedded cluster, when no other was given. Declared after `services`, so it is released after every
    /// client of it: clients that outlive their broker log failed reconnects while the process exits.
    let embeddedBroker: EmbeddedKafkaBroker?
    let shutdownDeadline: Duration

    public init(options: Options, logger: Logger, onListening: @escaping @Sendable (String) async -> Void) async throws {
        var services: [any Service] = []
        var kafka: KafkaConfiguration
        if let configured = options.kafka {
            kafka = configured
            try await TopicProvisioner.ensure(with: try KafkaAdmin(configuration: kafka, logger: logger), replicationFactor: options.replicationFactor)
            embeddedBroker = nil
        } else {
            let broker = try EmbeddedKafkaBroker(brokers: options.embeddedBrokers, logger: logger)
            try TopicProvisioner.ensure(on: broker)
            kafka = KafkaConfiguration(bootstrapServers: broker.bootstrapServers)
            // Every stage's producer is in this process: idle stages pause and the record that wakes them arrives at
            // once, instead of every stage asking the broker again each fetch wait.
            if options.pauseIdleStages { kafka.idlePause = KafkaIdlePause() }
            embeddedBroker = broker
        }
        bootstrapServers = kafka.bootstrapServers
        kafka.fetchWaitMaxMilliseconds = options.fetchWaitMilliseconds
        database = try AppDatabase.open(directory: options.dataDirectory)
        // Every consumer reports records it will never read. A copy of a whole log (subscriptions, deliveries) that
        // lost its beginning keeps the node out of service, unless this process is the only writer of that state
        // (`serve` on its embedded broker, whose SQLite holds everything the log did).
        let health = NodeHealth()
        let ownsWholeLogs = options.kafka == nil
        kafka.onRecordsLost = { loss in
            PipelineMetrics.recordsLost(loss)
            let blocks = loss.kind == .logBeginningGone && !ownsWholeLogs
            health.recordLoss(loss.description, count: loss.count, blockingComponent: blocks ? "\(loss.topic) replica" : nil)
        }

        // The pipeline's producer keeps retrying for as long as librdkafka's default allows; the ingest
        // producer gives up sooner, because a newsroom client is waiting for the answer.
        let pipelineProducer = try KafkaProducer(configuration: KafkaProducerConfiguration(kafka: kafka), logger: logger)
        services.append(pipelineProducer)
        if embeddedBroker != nil {
            // The embedded log is new at every start: put back what SQLite accepted and no stage finished.
            services.append(EmbeddedLogRecovery(database: database, producer: pipelineProducer, logger: logger))
        }
        let admin = try KafkaAdmin(configuration: kafka, logger: logger)
        let propagation = ChangelogPropagation()
        services.append(ChangelogPublisher(database: database, producer: pipelineProducer, admin: admin, propagation: propagation, logger: logger))
        let replica = try SubscriptionReplica(
            kafka: kafka, database: database, propagation: propagation, reloadsFromStoreOnGap: ownsWholeLogs, logger: logger)
        services.append(replica)
        services.append(DeliveryReportPublisher(database: database, producer: pipelineProducer, logger: logger))
        if !ownsWholeLogs {
            // Other nodes' deliveries. `serve` on its own embedded broker makes every delivery itself.
            services.append(try DeliveryReportReplica(kafka: kafka, database: database, logger: logger))
        }
        if options.roles.contains(.enrich) {
            services.append(try EnrichService(kafka: kafka, producer: pipelineProducer, database: database, configuration: options.enrich, logger: logger))
        }
        if options.roles.contains(.fanout) {
            services.append(try FanoutService(kafka: kafka, producer: pipelineProducer, database: database, replica: replica, configuration: options.fanout, logger: logger))
        }
        var deliveryConfiguration = options.delivery
        deliveryConfiguration.handBackOnShutdown = options.kafka != nil
        let addressPolicy = WebhookAddressPolicy(allowlist: options.webhookAllowlist)
        let webhookSender = WebhookSender(policy: addressPolicy, configuration: options.webhook, logger: logger)
        services.append(ShutdownAction { await webhookSender.shutdown() })
        let linkKey: Data
        if let configured = options.linkKey { linkKey = configured } else { linkKey = try await database.linkKey() }
        let links = UnsubscribeLinks(key: linkKey, baseURL: options.publicURL)
        let signedLinks = SignedLinks(key: linkKey, baseURL: options.publicURL)
        var relay: SMTPRelayPool?
        if let smtp = options.smtp {
            let pool = try SMTPRelayPool(configuration: smtp, maximumConnections: 4, logger: logger)
            services.append(ShutdownAction { await pool.shutdown() })
            relay = pool
            // The confirmation mails this node's subscription API owes (double opt-in).
            services.append(ConfirmationMailer(
                database: database, pool: pool, from: try EmailDeliverer.mailbox(options.mailFrom), links: signedLinks,
                window: options.confirmationWindow, logger: logger))
        } else {
            logger.notice("no SMTP relay configured (NEWSALERT_SMTP_RELAY): email channels wait for a confirmation mail that is not sent")
        }
        if options.roles.contains(.deliverEmail) {
            if let pool = relay {
                let from = try EmailDeliverer.mailbox(options.mailFrom)
                var delivery = deliveryConfiguration
                delivery.bounceLimit = options.bounceLimit
                services.append(try DeliveryWorker(
                    deliverer: EmailDeliverer(pool: pool, from: from, links: links, preferences: signedLinks), kafka: kafka, producer: pipelineProducer, database: database,
                    replica: replica, configuration: delivery, logger: logger))
            } else {
                logger.notice("email delivery is off: no SMTP relay configured (NEWSALERT_SMTP_RELAY); email alerts wait on alerts.email")
            }
        }
        if options.roles.contains(.deliverWebhook) {
            services.append(try DeliveryWorker(
                deliverer: WebhookDeliverer(sender: webhookSender, rateLimiter: EndpointRateLimiter(ratePerSecond: options.webhookRatePerSecond)), kafka: kafka, producer: pipelineProducer, database: database,
                replica: replica, configuration: deliveryConfiguration, logger: logger))
        }
        var producerConfiguration = KafkaProducerConfiguration(kafka: kafka)
        producerConfiguration.lingerMilliseconds = options.producerLingerMilliseconds
        producerConfiguration.messageTimeoutMilliseconds = options.ingestDeliveryTimeoutMilliseconds
        let producer = try KafkaProducer(configuration: producerConfiguration, logger: logger)
        services.append(producer)
        let publisher = KafkaNewsEventPublisher(producer: producer, admin: admin)
        services.append(HeldEventReleaser(database: database, publisher: publisher, logger: logger))
        var ticker: TickerRoutes?
        var tickerHub: TickerHub?
        if options.roles.contains(.ticker) {
            let hub = TickerHub(windowCapacity: options.tickerWindow, clientBufferLimit: options.tickerClientBuffer)
            tickerHub = hub
            let grip = options.gripPublishURL.map { GripPublisher(proxyURL: $0, hub: hub, logger: logger) }
            if let grip { services.append(grip) }
            services.append(try TickerFeed(kafka: kafka, admin: admin, hub: hub, grip: grip, logger: logger))
            ticker = TickerRoutes(hub: hub, allowedOrigins: options.tickerAllowedOrigins, grip: options.gripKey.map(GripSignature.init(key:))) { [database] token in
                try await database.authenticateSubscriber(token: token)
            }
        }
        let preview = EventPreviewSources(
            enricher: Enricher(gazetteer: try Gazetteer.load(isoCodesPath: options.enrich.isoCodesPath)), threader: options.enrich.threader,
            catalog: { replica.catalog }, tickerReaders: { [tickerHub] in tickerHub?.clientCount ?? 0 })
        let router = try NewsAlertRouter.make(
            database: database, publisher: publisher, configuration: options.ingest, webhooks: GuardedWebhookEndpoints(policy: addressPolicy),
            replays: KafkaReplayForwarder(producer: producer), ticker: ticker, unsubscribe: links, signedLinks: signedLinks, signupLimits: options.signupLimits, replication: propagation, health: health, metrics: options.metricsText,
            preview: preview, logger: logger)
        services.append(HTTPServer.application(router: router, host: options.host, port: options.port, logger: logger, onListening: onListening))
        self.services = services
        shutdownDeadline = options.shutdownDeadline
    }

    /// Runs every service until SIGTERM/SIGINT (or until the calling task is cancelled), then stops them in reverse order.
    public func run(logger: Logger) async throws {
        var configuration = ServiceGroupConfiguration(
            services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        configuration.maximumGracefulShutdownDuration = shutdownDeadline
        configuration.maximumCancellationDuration = .seconds(5)
        let group = ServiceGroup(configuration: configuration)
        try await group.run()
    }
}

/// A service that does nothing until shutdown, then runs `action`: placed before the services that use a
/// resource, it releases the resource after they stopped (services stop in reverse order).
struct ShutdownAction: Service {
    let action: @Sendable () async -> Void

    func run() async throws {
        try? await gracefulShutdown()
        await action()
    }
}
