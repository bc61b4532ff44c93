import Foundation
import KafkaBridge
import Metrics
import NewsAlertCore

/// The metrics every role reports (swift-metrics; `/metrics` exposes them in Prometheus format).
enum PipelineMetrics {
    /// A record read from `topic`, and how far its consumer is behind the partition's end.
    static func consumed(_ record: KafkaRecord, by consumer: KafkaConsumer) {
        Counter(label: "newsalert_kafka_records_total", dimensions: [("topic", record.topic), ("direction", "in")]).increment()
        if let lag = consumer.lag(after: record) {
            Gauge(label: "newsalert_kafka_consumer_lag", dimensions: [("topic", record.topic), ("partition", "\(record.partition)")]).record(lag)
        }
    }

    /// Records written to `topic`.
    /// Records a consumer will never read (see `KafkaRecordLoss`).
    static func recordsLost(_ loss: KafkaRecordLoss) {
        Counter(label: "newsalert_kafka_records_lost_total", dimensions: [("topic", loss.topic)]).increment(by: Int(loss.count))
    }

    static func produced(_ topic: String, count: Int = 1) {
        Counter(label: "newsalert_kafka_records_total", dimensions: [("topic", topic), ("direction", "out")]).increment(by: count)
    }

    static func duplicateDropped(_ kind: DuplicateKind) {
        Counter(label: "newsalert_dedup_dropped_total", dimensions: [("kind", kind.rawValue)]).increment()
    }

    static func fannedOut(_ plan: FanoutPlan, matches: Int) {
        Recorder(label: "newsalert_fanout_matches_per_event", aggregate: true).record(matches)
        Counter(label: "newsalert_fanout_alerts_total", dimensions: [("decision", "now")]).increment(by: plan.immediate.count)
        Counter(label: "newsalert_fanout_alerts_total", dimensions: [("decision", "held")]).increment(by: plan.held.count)
        Counter(label: "newsalert_fanout_alerts_total", dimensions: [("decision", "dropped")]).increment(by: plan.dropped.count)
    }

    static func delivery(_ channel: DeliveryChannel.Kind, outcome: String) {
        Counter(label: "newsalert_deliveries_total", dimensions: [("channel", channel.rawValue), ("outcome", outcome)]).increment()
    }

    /// Newsroom-to-subscriber latency: from the event's `published_at` to its delivery.
    static func delivered(_ alert: Alert, at now: Date = Date()) {
        alertLatency(channel: alert.channel.rawValue, urgency: alert.event.urgency, publishedAt: alert.event.publishedAt, at: now)
    }

    /// Records how long after its `published_at` an event reached a channel. The newsroom may set any
    /// `published_at` (a date centuries back, a future one): the figure is clamped to 0...one year.
    static func alertLatency(channel: String, urgency: Urgency, publishedAt: Date, at now: Date = Date()) {
        let seconds = min(max(0, now.timeIntervalSince(publishedAt)), 365 * 86_400)
        Timer(label: "newsalert_alert_latency_seconds", dimensions: [("channel", channel), ("urgency", "\(urgency.rawValue)")])
            .recordNanoseconds(Int64(seconds * 1e9))
    }

    static func retryQueue(_ channel: DeliveryChannel.Kind, depth: Int) {
        Gauge(label: "newsalert_delivery_retry_queue", dimensions: [("channel", channel.rawValue)]).record(depth)
    }

    static func channelDisabled(_ channel: DeliveryChannel.Kind) {
        Counter(label: "newsalert_channels_disabled_total", dimensions: [("channel", channel.rawValue)]).increment()
    }
}
