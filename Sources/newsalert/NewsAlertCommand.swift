import ArgumentParser

@main
struct NewsAlertCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "newsalert",
        abstract: "Breaking-news alerts: ingest, enrich, deduplicate and deliver over Kafka.",
        subcommands: [ServeCommand.self, EnrichCommand.self, IngestCommand.self, FanoutCommand.self, DeliverCommand.self, TickerCommand.self, SubscribersCommand.self, SubscriptionsCommand.self, ReplayCommand.self, ConfigCommand.self, PublishCommand.self, KeysCommand.self, BrokerCommand.self, TopicsCommand.self, BenchCommand.self]
    )
}
