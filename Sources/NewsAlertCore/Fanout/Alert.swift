import Foundation

/// One alert for one subscriber on one channel (schemas/alert.schema.json): the value of a record on
/// `alerts.webhook`, `alerts.email` or `alerts.ticker`, and the body a webhook receiver gets.
public struct Alert: Codable, Sendable, Hashable {
    public enum AlertType: String, Codable, Sendable {
        case alert, update, correction, retraction
        /// A message about the subscriber's own channels (one was disabled), not about the news.
        case notice
    }

    public struct Story: Codable, Sendable, Hashable {
        public var storyID: String
        public var sequence: Int
        public var updateOf: String?

        public init(storyID: String, sequence: Int, updateOf: String?) {
            self.storyID = storyID
            self.sequence = sequence
            self.updateOf = updateOf
        }

        enum CodingKeys: String, CodingKey {
            case storyID = "story_id"
            case sequence
            case updateOf = "update_of"
        }
    }

    public struct Event: Codable, Sendable, Hashable {
        public var id: String
        public var kind: NewsKind
        public var headline: String
        public var summary: String?
        public var url: String?
        public var section: NewsSection
        public var regions: [NewsRegion]
        public var countries: [String]
        public var urgency: Urgency
        public var publishedAt: Date
        public var status: NewsStatus
        public var supersedes: String?

        enum CodingKeys: String, CodingKey {
            case id, kind, headline, summary, url, section, regions, countries, urgency
            case publishedAt = "published_at"
            case status, supersedes
        }
    }

    public struct Match: Codable, Sendable, Hashable {
        public var subscriptionID: String
        public var clause: RuleClause
        public var value: String

        public init(subscriptionID: String, clause: RuleClause, value: String) {
            self.subscriptionID = subscriptionID
            self.clause = clause
            self.value = value
        }

        enum CodingKeys: String, CodingKey {
            case subscriptionID = "subscription_id"
            case clause, value
        }
    }

    /// One story event inside a digest.
    public struct DigestItem: Codable, Sendable, Hashable {
        public var type: AlertType
        public var story: Story
        public var event: Event
        public var matched: [Match]
    }

    /// Stable for one event and channel: the same across retries and redeliveries (`webhook-id`).
    public var alertID: String
    public var channel: DeliveryChannel.Kind
    public var channelID: String
    public var subscriberID: String
    public var type: AlertType
    public var story: Story
    public var event: Event
    public var matched: [Match]
    public var deliverAfter: Date?
    public var digest: Bool
    /// For a digest: every item it gathers, oldest first (the alert's own `event` is the newest).
    public var digestItems: [DigestItem]? = nil
    public var createdAt: Date

    /// The id of the alert for `eventID` on `channelID`.
    public static func id(eventID: String, channelID: String) -> String {
        "\(eventID).\(channelID)"
    }

    enum CodingKeys: String, CodingKey {
        case alertID = "alert_id"
        case channel
        case channelID = "channel_id"
        case subscriberID = "subscriber_id"
        case type, story, event, matched
        case deliverAfter = "deliver_after"
        case digest
        case digestItems = "digest_items"
        case createdAt = "created_at"
    }

    /// Tells a subscriber on `channel` that `disabled` was disabled and why; the id is stable for that change.
    public static func notice(channel: DeliveryChannel, disabled: DeliveryChannel, reason: String, now: Date) -> Alert {
        let what = disabled.kind == .email ? "email address \(disabled.target)" : "\(disabled.kind.rawValue) endpoint \(disabled.target)"
        let headline = String("newsalert stopped delivering to your \(what): \(reason)".prefix(300))
        return Alert(
            alertID: "notice.\(disabled.id).\(disabled.version + 1).\(channel.id)", channel: channel.kind, channelID: channel.id,
            subscriberID: channel.subscriberID, type: .notice,
            story: Story(storyID: "story-notice-\(disabled.id)", sequence: 1, updateOf: nil),
            event: Event(
                id: "notice-\(disabled.id)-\(disabled.version + 1)", kind: .breaking, headline: headline, summary: nil, url: nil,
                section: .miscellaneous, regions: [], countries: [], urgency: .flash, publishedAt: now, status: .usable, supersedes: nil),
            matched: [], deliverAfter: nil, digest: false, createdAt: now)
    }

    /// One message gathering held digest alerts of one channel due at one time; its id is stable for them.
    public static func digest(of alerts: [Alert], now: Date) -> Alert? {
        let ordered = alerts.sorted { ($0.event.publishedAt, $0.alertID) < ($1.event.publishedAt, $1.alertID) }
        guard var newest = ordered.last else { return nil }
        let due = Int((newest.deliverAfter ?? now).timeIntervalSince1970)
        newest.alertID = "digest.\(newest.channelID).\(due)"
        newest.digestItems = ordered.map { DigestItem(type: $0.type, story: $0.story, event: $0.event, matched: $0.matched) }
        newest.matched = Array(Set(ordered.flatMap(\.matched))).sorted { ($0.subscriptionID, $0.clause.rawValue, $0.value) < ($1.subscriptionID, $1.clause.rawValue, $1.value) }
        newest.createdAt = now
        return newest
    }
}

extension Alert.Event {
    /// The alert's view of an enriched event.
    public init(_ enriched: EnrichedEvent) {
        let event = enriched.event
        self.init(
            id: event.id, kind: event.kind, headline: event.headline, summary: event.summary, url: event.url,
            section: enriched.enrichment.section, regions: enriched.enrichment.regions, countries: enriched.enrichment.countries,
            urgency: enriched.enrichment.urgency, publishedAt: event.publishedAt, status: event.status, supersedes: event.supersedes)
    }
}
