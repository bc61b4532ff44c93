import Foundation

/// What fan-out does with one enriched event: which alerts go out now, which wait, which are dropped, and why.
public struct FanoutPlan: Sendable {
    /// Alerts to hand to their channel now.
    public var immediate: [Alert] = []
    /// Alerts held by quiet hours or for a digest (`deliverAfter` set).
    public var held: [Alert] = []
    /// Alerts the subscriber's budget stopped, with the reason.
    public var dropped: [(alert: Alert, reason: String)] = []
    /// Held alerts of this story that must not go out any more (the story was killed or corrected).
    public var cancelsHeldAlertsOfStory: String?

    public init() {}
}

/// Turns an enriched event into alerts: pure, so every decision can be tested without Kafka or SQLite.
///
/// - New reports: every active subscriber with a matching active rule gets one alert per channel (the rules'
///   `channels`, else all of the subscriber's active channels): `alert` for the first event of a story they get,
///   `update` (with `update_of`) afterwards. An update that adds nothing to the story is not delivered again.
/// - Kills and corrections go at once to everyone who got the story, on the channel they got it on, whatever their
///   rules say now; held alerts of the story are cancelled. A correction is also matched like a new report for
///   those who did not get the story yet.
/// - Quiet hours, digests and budgets apply to `alert` and `update`, not to the ticker (a live view) and not to
///   retractions and corrections.
public enum FanoutPlanner {
    /// `recent` counts a subscriber's recent alerts for its budget; it is asked only about subscribers with a cap,
    /// and its errors end the plan (the caller retries the event) rather than pass for "nothing sent yet".
    public static func plan(
        _ enriched: EnrichedEvent, catalog: SubscriptionCatalog, delivered: [StoryDelivery],
        recent: (String) throws -> RecentDeliveries, now: Date
    ) rethrows -> FanoutPlan {
        var plan = FanoutPlan()
        let event = Alert.Event(enriched)
        let relation = enriched.story.relation
        let isKill = enriched.event.status == .canceled || relation == .kill
        let isCorrection = !isKill && (relation == .correction || enriched.event.supersedes != nil)
        let deliveredByChannel = Dictionary(delivered.map { ($0.channelID, $0) }, uniquingKeysWith: { first, _ in first })

        func alert(_ type: Alert.AlertType, channel: DeliveryChannel, updateOf: String?, matched: [Alert.Match]) -> Alert {
            Alert(
                alertID: Alert.id(eventID: event.id, channelID: channel.id), channel: channel.kind, channelID: channel.id,
                subscriberID: channel.subscriberID, type: type,
                story: .init(storyID: enriched.story.storyId, sequence: enriched.story.sequence, updateOf: updateOf),
                event: event, matched: matched, deliverAfter: nil, digest: false, createdAt: now)
        }

        if isKill || isCorrection {
            plan.cancelsHeldAlertsOfStory = enriched.story.storyId
            for previous in delivered.sorted(by: { $0.channelID < $1.channelID }) {
                guard let channel = catalog.channels[previous.channelID], channel.isDeliverable else { continue }
                plan.immediate.append(alert(isKill ? .retraction : .correction, channel: channel, updateOf: previous.lastEventID, matched: []))
            }
            if isKill { return plan }
        }

        for (subscriber, matches) in catalog.matches(MatchableEvent(enriched)) {
            let rules = matches.compactMap { match in catalog.rule(match.subscriptionID).map { (match, $0) } }
            let matched = matches.flatMap { match in
                match.reasons.map { Alert.Match(subscriptionID: match.subscriptionID, clause: $0.clause, value: $0.value) }
            }
            let planner = DeliveryPlanner(timeZone: TimeZone(identifier: subscriber.timeZone) ?? .gmt, budget: subscriber.budget)
            let capped = subscriber.budget.perHour != nil || subscriber.budget.perDay != nil
            let history = capped ? try recent(subscriber.id) : RecentDeliveries.none
            for channel in channels(for: subscriber, rules: rules.map(\.1), catalog: catalog) {
                if isCorrection, deliveredByChannel[channel.id] != nil { continue }
                var type = Alert.AlertType.alert
                var updateOf: String?
                if let previous = deliveredByChannel[channel.id] {
                    // A repeat of what the subscriber already has is not news.
                    guard enriched.story.addsInformation, previous.lastEventID != event.id else { continue }
                    type = .update
                    updateOf = previous.lastEventID
                }
                var planned = alert(type, channel: channel, updateOf: updateOf, matched: matched)
                if channel.kind == .ticker {
                    plan.immediate.append(planned)
                    continue
                }
                let applicable = rules.filter { $0.1.channels.isEmpty || $0.1.channels.contains(channel.id) }.map(\.1)
                switch bestDecision(applicable.map { planner.decide(urgency: event.urgency, rule: $0, recent: history, now: now) }) {
                case .now:
                    plan.immediate.append(planned)
                case .holdUntil(let due, _):
                    planned.deliverAfter = due
                    planned.digest = applicable.contains { if case .digest = $0.delivery { true } else { false } }
                        && !applicable.contains { $0.delivery == .immediate }
                    plan.held.append(planned)
                case .drop(let reason):
                    plan.dropped.append((planned, reason))
                }
            }
        }
        return plan
    }

    /// The channels an event goes to: those the matching rules name, else all of the subscriber's active channels.
    private static func channels(for subscriber: Subscriber, rules: [ValidatedRule], catalog: SubscriptionCatalog) -> [DeliveryChannel] {
        let active = catalog.activeChannels(of: subscriber.id)
        if rules.contains(where: { $0.channels.isEmpty }) { return active }
        let named = Set(rules.flatMap(\.channels))
        return active.filter { named.contains($0.id) }
    }

    /// The most favourable of several rules' decisions: now, else the earliest hold, else drop.
    private static func bestDecision(_ decisions: [DeliveryDecision]) -> DeliveryDecision {
        if decisions.contains(.now) { return .now }
        let holds = decisions.compactMap { decision -> (Date, DeliveryDecision)? in
            if case .holdUntil(let due, _) = decision { return (due, decision) }
            return nil
        }
        if let earliest = holds.min(by: { $0.0 < $1.0 }) { return earliest.1 }
        return decisions.first ?? .drop(reason: "no rule applies to this channel")
    }
}
