import Foundation

/// A record on the compacted topic `subscriptions.changelog`: an entity as it is now, or its deletion.
///
/// The key is the entity's id; its prefix says the kind (`sbr_` subscriber, `chn_` channel, `sub_` subscription).
/// A deletion is a tombstone (null value). Replicas apply a record only when its `version` is higher than theirs.
public enum SubscriptionChange: Sendable, Hashable {
    case subscriber(Subscriber)
    case channel(DeliveryChannel)
    /// A subscription with the time zone of its subscriber, so the record can be validated on its own.
    case subscription(Subscription, subscriberTimeZone: String)
    case deleted(id: String)

    /// The record key.
    public var key: String {
        switch self {
        case .subscriber(let subscriber): subscriber.id
        case .channel(let channel): channel.id
        case .subscription(let subscription, _): subscription.id
        case .deleted(let id): id
        }
    }

    /// The record value: JSON, or nil for a tombstone.
    public func value() throws -> Data? {
        let encoder = JSONEncoder.newsAlert
        switch self {
        case .subscriber(let subscriber): return try encoder.encode(Tagged(entity: "subscriber", body: subscriber))
        case .channel(let channel): return try encoder.encode(Tagged(entity: "channel", body: channel))
        case .subscription(let subscription, let zone):
            return try encoder.encode(Tagged(entity: "subscription", body: SubscriptionRecord(subscription: subscription, subscriberTimeZone: zone)))
        case .deleted: return nil
        }
    }

    /// Decodes a record read from the topic.
    public init(key: String, value: Data?) throws {
        guard let value else {
            self = .deleted(id: key)
            return
        }
        let decoder = JSONDecoder.newsAlert
        let entity = try decoder.decode(EntityName.self, from: value).entity
        switch entity {
        case "subscriber": self = .subscriber(try decoder.decode(Tagged<Subscriber>.self, from: value).body)
        case "channel": self = .channel(try decoder.decode(Tagged<DeliveryChannel>.self, from: value).body)
        case "subscription":
            let record = try decoder.decode(Tagged<SubscriptionRecord>.self, from: value).body
            self = .subscription(record.subscription, subscriberTimeZone: record.subscriberTimeZone)
        default:
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "unknown entity \"\(entity)\""))
        }
        guard self.key == key else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "record key \(key) does not match the id in its value"))
        }
    }

    private struct EntityName: Decodable {
        var entity: String
    }

    /// The entity's fields with an `entity` member naming its kind, flat in one JSON object.
    private struct Tagged<Body: Codable>: Codable {
        var entity: String
        var body: Body

        init(entity: String, body: Body) {
            self.entity = entity
            self.body = body
        }

        init(from decoder: any Decoder) throws {
            entity = try EntityName(from: decoder).entity
            body = try Body(from: decoder)
        }

        func encode(to encoder: any Encoder) throws {
            try body.encode(to: encoder)
            var container = encoder.container(keyedBy: EntityKey.self)
            try container.encode(entity, forKey: .entity)
        }

        enum EntityKey: String, CodingKey { case entity }
    }

    private struct SubscriptionRecord: Codable {
        var subscription: Subscription
        var subscriberTimeZone: String

        init(subscription: Subscription, subscriberTimeZone: String) {
            self.subscription = subscription
            self.subscriberTimeZone = subscriberTimeZone
        }

        init(from decoder: any Decoder) throws {
            subscription = try Subscription(from: decoder)
            subscriberTimeZone = try decoder.container(keyedBy: ZoneKey.self).decode(String.self, forKey: .subscriberTimeZone)
        }

        func encode(to encoder: any Encoder) throws {
            try subscription.encode(to: encoder)
            var container = encoder.container(keyedBy: ZoneKey.self)
            try container.encode(subscriberTimeZone, forKey: .subscriberTimeZone)
        }

        enum ZoneKey: String, CodingKey { case subscriberTimeZone = "subscriber_time_zone" }
    }
}
