import Foundation

/// Whom an event would reach if fan-out planned it now: counts by channel kind and by what quiet hours,
/// digests and budgets do, summarised from a `FanoutPlan`.
public struct AudiencePreview: Codable, Sendable, Hashable {
    /// One channel kind's share of the plan.
    public struct ChannelCounts: Codable, Sendable, Hashable {
        /// Alerts handed to the channel at once.
        public var now = 0
        /// Alerts held until the subscriber's quiet hours end.
        public var heldQuietHours = 0
        /// Alerts held for the next digest.
        public var heldDigest = 0
        /// Alerts the subscriber's budget stops.
        public var droppedBudget = 0

        public init() {}

        enum CodingKeys: String, CodingKey {
            case now
            case heldQuietHours = "held_quiet_hours"
            case heldDigest = "held_digest"
            case droppedBudget = "dropped_budget"
        }
    }

    /// Distinct subscribers with at least one alert sent now.
    public var subscribersNow: Int
    /// Distinct channels alerted now.
    public var channelsNow: Int
    /// Distinct subscribers the event matches at all (now, held or dropped).
    public var subscribersMatched: Int
    /// Counts per channel kind: webhook, email, ticker (every kind present, zeros included).
    public var byChannel: [String: ChannelCounts]
    /// Totals over every channel kind.
    public var total: ChannelCounts
    /// Why budgets stop alerts, each distinct reason once.
    public var dropReasons: [String]
    /// Retractions and corrections sent to those who got the story (kills and corrections only).
    public var retractionsAndCorrections: Int
    /// Browsers and apps connected to this node's live ticker.
    public var tickerReaders: Int

    /// Summarises `plan`; `tickerReaders` is the number of live ticker connections.
    public init(plan: FanoutPlan, tickerReaders: Int) {
        var byChannel = Dictionary(uniqueKeysWithValues: DeliveryChannel.Kind.allCases.map { ($0.rawValue, ChannelCounts()) })
        var total = ChannelCounts()
        var retractions = 0
        for alert in plan.immediate {
            if alert.type == .retraction || alert.type == .correction { retractions += 1 }
            byChannel[alert.channel.rawValue, default: ChannelCounts()].now += 1
            total.now += 1
        }
        for alert in plan.held {
            if alert.digest {
                byChannel[alert.channel.rawValue, default: ChannelCounts()].heldDigest += 1
                total.heldDigest += 1
            } else {
                byChannel[alert.channel.rawValue, default: ChannelCounts()].heldQuietHours += 1
                total.heldQuietHours += 1
            }
        }
        for (alert, _) in plan.dropped {
            byChannel[alert.channel.rawValue, default: ChannelCounts()].droppedBudget += 1
            total.droppedBudget += 1
        }
        self.byChannel = byChannel
        self.total = total
        subscribersNow = Set(plan.immediate.map(\.subscriberID)).count
        channelsNow = Set(plan.immediate.map(\.channelID)).count
        subscribersMatched = Set(plan.immediate.map(\.subscriberID) + plan.held.map(\.subscriberID) + plan.dropped.map(\.alert.subscriberID)).count
        var reasons: [String] = []
        for (_, reason) in plan.dropped where !reasons.contains(reason) { reasons.append(reason) }
        dropReasons = reasons
        retractionsAndCorrections = retractions
        self.tickerReaders = tickerReaders
    }

    /// Nobody: for an exact duplicate, which is dropped before fan-out.
    public static func nobody(tickerReaders: Int) -> AudiencePreview {
        AudiencePreview(plan: FanoutPlan(), tickerReaders: tickerReaders)
    }

    enum CodingKeys: String, CodingKey {
        case subscribersNow = "subscribers_now"
        case channelsNow = "channels_now"
        case subscribersMatched = "subscribers_matched"
        case byChannel = "by_channel"
        case total
        case dropReasons = "drop_reasons"
        case retractionsAndCorrections = "retractions_and_corrections"
        case tickerReaders = "ticker_readers"
    }
}
