import Foundation
import KafkaBridge
import Logging
import Metrics
import NewsAlertCore
import NewsAlertHTTP
import ServiceLifecycle

/// The ticker role's input: reads the whole retained `alerts.ticker` log with a consumer group of its own (so
/// every ticker process serves every item to its own clients) and feeds the hub, each item at its offset.
public final class TickerFeed: Service, Sendable {
    private let consumer: KafkaConsumer
    private let admin: KafkaAdmin
    private let hub: TickerHub
    private let grip: GripPublisher?
    private let logger: Logger

    public init(kafka: KafkaConfiguration, admin: KafkaAdmin, hub: TickerHub, grip: GripPublisher? = nil, logger: Logger) throws {
        var configuration = KafkaConsumerConfiguration(kafka: kafka, groupID: "newsalert-ticker-\(UUID().uuidString.lowercased())", topics: [NewsTopics.tickerAlerts.name])
        configuration.offsetReset = .earliest
        consumer = try KafkaConsumer(configuration: configuration, logger: logger)
        self.admin = admin
        self.hub = hub
        self.grip = grip
        self.logger = logger
    }

    public func run() async throws {
        // Positions are offsets of this cluster's log: the cluster id is the epoch a resuming client must match.
        hub.reset(epoch: try await admin.clusterID())
        try await consumer.untilGracefulShutdown {
            for try await record in consumer.records {
                do {
                    PipelineMetrics.consumed(record, by: consumer)
                    let item = try JSONDecoder.newsAlert.decode(TickerItem.self, from: Data(record.value))
                    hub.publish(position: record.offset, item: item)
                    grip?.publish(position: record.offset, item: item)
                    PipelineMetrics.alertLatency(channel: "ticker", urgency: item.event.urgency, publishedAt: item.event.publishedAt)
                    Gauge(label: "newsalert_ticker_clients").record(hub.clientCount)
                } catch {
                    logger.error("ticker record skipped", metadata: ["kafka.offset": "\(record.offset)", "error": "\(error)"])
                }
            }
        }
    }
}
