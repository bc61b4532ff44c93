import Hummingbird
import Logging
import NewsAlertCore
import NewsAlertStore

/// Builds the router every newsalert HTTP role serves.
public enum NewsAlertRouter {
    public static func make(
        database: AppDatabase, publisher: any NewsEventPublisher, configuration: IngestConfiguration,
        webhooks: any WebhookEndpointPolicy, replays: (any DeliveryReplayForwarder)? = nil, ticker: TickerRoutes? = nil, unsubscribe: UnsubscribeLinks? = nil,
        signedLinks: SignedLinks? = nil, signupLimits: SignupRoutes.Limits = SignupRoutes.Limits(),
        replication: (any SubscriptionReplication)? = nil, health: NodeHealth = NodeHealth(), metrics: @escaping @Sendable () -> String = { "" },
        preview: EventPreviewSources? = nil, logger: Logger
    ) throws -> Router<NewsAlertRequestContext> {
        let hub = ticker?.hub
        let preview = try preview ?? .reading(database, gazetteer: try Gazetteer.load(), tickerReaders: { hub?.clientCount ?? 0 })
        let router = Router(context: NewsAlertRequestContext.self)
        router.add(middleware: JSONErrorMiddleware())
        router.add(middleware: APIKeyAuthenticator(database: database))
        if let replication { router.add(middleware: ReadYourWritesMiddleware(database: database, replication: replication)) }
        HealthRoutes(publisher: publisher, health: health, metrics: metrics).add(to: router)
        try PageRoutes().add(to: router)
        EventRoutes(database: database, publisher: publisher, configuration: configuration, preview: preview, logger: logger).add(to: router)
        SubscriberImportRoutes(database: database, webhooks: webhooks).add(to: router)
        SubscriberRoutes(database: database).add(to: router)
        KeyRoutes(database: database).add(to: router)
        SubscriptionRoutes(database: database).add(to: router)
        ChannelRoutes(database: database, webhooks: webhooks).add(to: router)
        DeliveryRoutes(database: database, replays: replays).add(to: router)
        ticker?.add(to: router)
        if let unsubscribe { UnsubscribeRoutes(database: database, links: unsubscribe).add(to: router) }
        if let signedLinks {
            ConfirmationRoutes(database: database, links: signedLinks).add(to: router)
            PreferenceRoutes(database: database, links: signedLinks).add(to: router)
        }
        SignupRoutes(database: database, gazetteer: preview.enricher.gazetteer, limits: signupLimits).add(to: router)
        return router
    }
}
