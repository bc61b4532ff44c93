import Foundation
import KafkaBridge
import NewsAlertCore
import NewsAlertStore

/// Every record newsalert writes to its own topics, each built in one place from its domain value: the topic,
/// the key that keeps its order (event, story, subscriber, delivery or entity id), the JSON value and the
/// headers (`content-type`, `newsalert-schema`) documented in asyncapi.yaml.
enum PipelineRecord {
    static func headers(schema: String?) -> [KafkaHeader] {
        [KafkaHeader(key: "content-type", string: "application/json")] + (schema.map { [KafkaHeader(key: "newsalert-schema", string: $0)] } ?? [])
    }

    /// A newsroom event on `news.events` (key: event id); `timestamp` keeps the original receive time when an
    /// accepted event is put back on the log after a restart, so threading decides as it would have.
    static func event(_ event: NewsEvent, idempotencyKey: String?, timestamp: Date? = nil) throws -> KafkaOutgoingMessage {
        var message = Self.event(encoded: try JSONEncoder.newsAlert.encode(event), id: event.id, idempotencyKey: idempotencyKey)
        message.timestamp = timestamp
        return message
    }

    static func event(encoded value: Data, id: String, idempotencyKey: String?) -> KafkaOutgoingMessage {
        var headers = Self.headers(schema: "news-event/1")
        if let idempotencyKey { headers.append(KafkaHeader(key: "idempotency-key", string: idempotencyKey)) }
        return KafkaOutgoingMessage(topic: NewsTopics.events.name, key: Array(id.utf8), value: Array(value), headers: headers)
    }

    /// An enriched event on `news.enriched` (key: story id, so a story's events stay in order).
    static func enriched(_ enriched: EnrichedEvent) throws -> KafkaOutgoingMessage {
        Self.enriched(encoded: try JSONEncoder.newsAlert.encode(enriched), storyID: enriched.story.storyId)
    }

    static func enriched(encoded value: Data, storyID: String) -> KafkaOutgoingMessage {
        KafkaOutgoingMessage(topic: NewsTopics.enriched.name, key: Array(storyID.utf8), value: Array(value), headers: headers(schema: "news-enriched/1"))
    }

    /// An alert on its channel's topic (key: subscriber id, so one subscriber's alerts stay in order).
    static func alert(_ alert: Alert, extraHeaders: [KafkaHeader] = []) throws -> KafkaOutgoingMessage {
        Self.alert(encoded: try JSONEncoder.newsAlert.encode(alert), channel: alert.channel, subscriberID: alert.subscriberID, extraHeaders: extraHeaders)
    }

    static func alert(encoded value: Data, channel: DeliveryChannel.Kind, subscriberID: String, extraHeaders: [KafkaHeader] = []) -> KafkaOutgoingMessage {
        KafkaOutgoingMessage(topic: topic(for: channel), key: Array(subscriberID.utf8), value: Array(value), headers: headers(schema: "alert/1") + extraHeaders)
    }

    /// A ticker item on the single-partition `alerts.ticker` (key: story id): its offset is its position everywhere.
    static func tickerItem(_ item: TickerItem, storyID: String) throws -> KafkaOutgoingMessage {
        KafkaOutgoingMessage(topic: NewsTopics.tickerAlerts.name, key: Array(storyID.utf8), value: Array(try JSONEncoder.newsAlert.encode(item)),
                             headers: headers(schema: "ticker-item/1"))
    }

    /// A delivery as it stands now on `deliveries.log` (key: delivery id).
    static func deliveryReport(_ record: DeliveryRecord) throws -> KafkaOutgoingMessage {
        KafkaOutgoingMessage(topic: NewsTopics.deliveryReports.name, key: Array(record.id.utf8), value: Array(try JSONEncoder.newsAlert.encode(record)),
                             headers: headers(schema: "delivery/1"))
    }

    /// A subscriber, channel or subscription change on `subscriptions.changelog` (key: its id; no value deletes it).
    static func subscriptionChange(key: String, value: Data?) -> KafkaOutgoingMessage {
        let topic = NewsTopics.subscriptionsChangelog.name
        guard let value else { return .tombstone(topic: topic, key: Array(key.utf8)) }
        return KafkaOutgoingMessage(topic: topic, key: Array(key.utf8), value: Array(value), headers: headers(schema: nil))
    }

    /// The topic of a channel's alerts.
    static func topic(for channel: DeliveryChannel.Kind) -> String {
        switch channel {
        case .webhook: NewsTopics.webhookAlerts.name
        case .email: NewsTopics.emailAlerts.name
        case .ticker: NewsTopics.tickerAlerts.name
        }
    }
}
