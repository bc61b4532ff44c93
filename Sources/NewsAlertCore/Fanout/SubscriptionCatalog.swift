import Foundation

/// Fan-out's in-memory view of every subscriber, channel and subscription, with the matching index.
///
/// Built from the store at start and kept current by applying `subscriptions.changelog` records, so matching
/// never touches SQLite. A rule that no longer validates (say, a section was renamed) is left out of the index
/// and reported, rather than stopping fan-out.
public struct SubscriptionCatalog: Sendable {
    private(set) public var subscribers: [String: Subscriber] = [:]
    private(set) public var channels: [String: DeliveryChannel] = [:]
    private var channelsBySubscriber: [String: Set<String>] = [:]
    private(set) public var subscriptions: [String: Subscription] = [:]
    private var rules: [String: ValidatedRule] = [:]
    private var index = SubscriptionIndex()
    /// Subscriptions whose rule did not validate, with the reason.
    private(set) public var invalid: [String: String] = [:]

    public init() {}

    public var ruleCount: Int { index.count }

    /// Applies one change (same rules as the store: deletes by id, upserts replace).
    public mutating func apply(_ change: SubscriptionChange) {
        switch change {
        case .subscriber(let subscriber):
            subscribers[subscriber.id] = subscriber
        case .channel(let channel):
            channels[channel.id] = channel
            channelsBySubscriber[channel.subscriberID, default: []].insert(channel.id)
        case .subscription(let subscription, let zone):
            subscriptions[subscription.id] = subscription
            index.remove(id: subscription.id)
            rules[subscription.id] = nil
            invalid[subscription.id] = nil
            do throws(ValidationFailure) {
                let rule = try subscription.rule.validate(timeZone: subscribers[subscription.subscriberID]?.timeZone ?? zone)
                rules[subscription.id] = rule
                if subscription.status == .active { index.insert(id: subscription.id, subscriberID: subscription.subscriberID, rule: rule.criteria) }
            } catch {
                invalid[subscription.id] = error.description
            }
        case .deleted(let id):
            if subscriptions.removeValue(forKey: id) != nil {
                index.remove(id: id)
                rules[id] = nil
                invalid[id] = nil
            }
            if let channel = channels.removeValue(forKey: id) { channelsBySubscriber[channel.subscriberID]?.remove(id) }
            subscribers[id] = nil
        }
    }

    /// The rule of a subscription, validated.
    public func rule(_ subscriptionID: String) -> ValidatedRule? {
        rules[subscriptionID]
    }

    /// Channels of a subscriber that alerts may go to (active, email confirmed), in a stable order.
    public func activeChannels(of subscriberID: String) -> [DeliveryChannel] {
        (channelsBySubscriber[subscriberID] ?? []).sorted().compactMap { channels[$0] }.filter(\.isDeliverable)
    }

    /// The matches of active subscriptions of active subscribers, grouped by subscriber (in a stable order).
    public func matches(_ event: MatchableEvent) -> [(subscriber: Subscriber, matches: [RuleMatch])] {
        var bySubscriber: [String: [RuleMatch]] = [:]
        for match in index.match(event) {
            bySubscriber[match.subscriberID, default: []].append(match)
        }
        return bySubscriber.keys.sorted().compactMap { id in
            guard let subscriber = subscribers[id], subscriber.status == .active, let matches = bySubscriber[id] else { return nil }
            return (subscriber, matches.sorted { $0.subscriptionID < $1.subscriptionID })
        }
    }
}
