import Foundation

/// A dry run of one rule over past enriched events: what it would have matched, why, and what quiet hours,
/// digests and the subscriber's budget would have done to each match.
///
/// Events are replayed oldest first with the clock set to each event's publication time; the budget counts only
/// the alerts this rule would have sent, since the preview cannot know what the subscriber's other rules sent.
public struct RulePreview: Codable, Sendable {
    /// What would have happened to one match.
    public enum Outcome: String, Codable, Sendable, CaseIterable {
        case sentNow = "sent_now"
        case heldForQuietHours = "held_for_quiet_hours"
        case heldForDigest = "held_for_digest"
        case droppedByBudget = "dropped_by_budget"
    }

    public struct Item: Codable, Sendable {
        public var eventID: String
        public var storyID: String
        public var headline: String
        public var urgency: Urgency
        public var publishedAt: Date
        public var reasons: [MatchReason]
        public var outcome: Outcome
        public var decision: String

        enum CodingKeys: String, CodingKey {
            case eventID = "event_id"
            case storyID = "story_id"
            case headline, urgency
            case publishedAt = "published_at"
            case reasons, outcome, decision
        }
    }

    public var eventsConsidered: Int
    public var matched: Int
    /// Distinct stories among the matches: a subscriber gets one alert per story, then updates.
    public var stories: Int
    /// How many matches ended in each outcome (every outcome present, 0 when none).
    public var outcomes: [String: Int]
    /// Matches whose outcome quiet hours, a digest or the budget changed (not sent at once).
    public var changedByPolicy: Int
    /// The matches, newest first, at most `itemLimit`.
    public var items: [Item]

    enum CodingKeys: String, CodingKey {
        case eventsConsidered = "events_considered"
        case matched, stories, outcomes
        case changedByPolicy = "changed_by_policy"
        case items
    }

    /// Replays `events` (any order) through `rule` for a subscriber with `budget`.
    public init(rule: ValidatedRule, budget: Budget, events: [EnrichedEvent], itemLimit: Int = 100) {
        var scanner = LinearRuleScanner()
        scanner.insert(id: "preview", subscriberID: "preview", rule: rule.criteria)
        let planner = DeliveryPlanner(timeZone: rule.timeZone, budget: budget)
        var sentAt: [Date] = []
        var items: [Item] = []
        for enriched in events.sorted(by: { ($0.event.publishedAt, $0.event.id) < ($1.event.publishedAt, $1.event.id) }) {
            guard let match = scanner.match(MatchableEvent(enriched)).first else { continue }
            let now = enriched.event.publishedAt
            let recent = RecentDeliveries(
                lastHour: sentAt.count { now.timeIntervalSince($0) < 3_600 }, lastDay: sentAt.count { now.timeIntervalSince($0) < 86_400 })
            let decision = planner.decide(urgency: enriched.enrichment.urgency, rule: rule, recent: recent, now: now)
            let outcome: Outcome
            switch decision {
            case .now:
                outcome = .sentNow
                sentAt.append(now)
            case .holdUntil:
                if case .digest = rule.delivery { outcome = .heldForDigest } else { outcome = .heldForQuietHours }
            case .drop: outcome = .droppedByBudget
            }
            items.append(Item(
                eventID: enriched.event.id, storyID: enriched.story.storyId, headline: enriched.event.headline,
                urgency: enriched.enrichment.urgency, publishedAt: now, reasons: match.reasons, outcome: outcome, decision: decision.description))
        }
        eventsConsidered = events.count
        matched = items.count
        stories = Set(items.map(\.storyID)).count
        outcomes = Dictionary(uniqueKeysWithValues: Outcome.allCases.map { outcome in (outcome.rawValue, items.count { $0.outcome == outcome }) })
        changedByPolicy = items.count { $0.outcome != .sentNow }
        self.items = Array(items.reversed().prefix(itemLimit))
    }
}
