/// Every Kafka topic newsalert uses, with the layout documented in `schemas/asyncapi.yaml`.
public struct NewsTopic: Sendable, Hashable {
    public var name: String
    public var partitions: Int
    public var retentionMilliseconds: Int64?
    /// `compact` for changelogs whose latest value per key is the state.
    public var cleanupPolicy: String
    public var purpose: String

    public var configs: [String: String] {
        var configs = ["cleanup.policy": cleanupPolicy]
        if let retentionMilliseconds { configs["retention.ms"] = String(retentionMilliseconds) }
        return configs
    }
}

public enum NewsTopics {
    private static let day: Int64 = 86_400_000

    public static let events = NewsTopic(name: "news.events", partitions: 12, retentionMilliseconds: 7 * day, cleanupPolicy: "delete", purpose: "what the newsroom publishes (key: event id)")
    public static let enriched = NewsTopic(name: "news.enriched", partitions: 12, retentionMilliseconds: 7 * day, cleanupPolicy: "delete", purpose: "enriched, deduplicated events (key: story id)")
    public static let deadLetter = NewsTopic(name: "news.deadletter", partitions: 3, retentionMilliseconds: 30 * day, cleanupPolicy: "delete", purpose: "records no stage could process, with the reason")
    public static let subscriptionsChangelog = NewsTopic(name: "subscriptions.changelog", partitions: 3, retentionMilliseconds: nil, cleanupPolicy: "compact", purpose: "every change of a subscriber, channel or subscription (key: its id; tombstone on delete)")
    public static let webhookAlerts = NewsTopic(name: "alerts.webhook", partitions: 12, retentionMilliseconds: 3 * day, cleanupPolicy: "delete", purpose: "webhook deliveries (key: subscriber id)")
    public static let emailAlerts = NewsTopic(name: "alerts.email", partitions: 12, retentionMilliseconds: 3 * day, cleanupPolicy: "delete", purpose: "email deliveries (key: subscriber id)")
    public static let tickerAlerts = NewsTopic(name: "alerts.ticker", partitions: 1, retentionMilliseconds: 3 * day, cleanupPolicy: "delete", purpose: "the live ticker: one item per event, its offset the ticker position (key: story id)")

    public static let deliveryReports = NewsTopic(name: "deliveries.log", partitions: 12, retentionMilliseconds: 30 * day, cleanupPolicy: "compact,delete", purpose: "the latest state of every delivery with its attempts, for every node's delivery log (key: delivery id)")

    public static let all: [NewsTopic] = [events, enriched, deadLetter, subscriptionsChangelog, webhookAlerts, emailAlerts, tickerAlerts, deliveryReports]
}
