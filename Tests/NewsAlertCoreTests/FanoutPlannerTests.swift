import Foundation
import NewsAlertCore
import Testing

/// Fan-out decisions: who gets an event, as an alert or an update, on which channel, and what kills reach.
@Suite struct FanoutPlannerTests {
    static let noon = Date(timeIntervalSince1970: 1_780_000_000)

    static func enriched(
        id: String, story: String, sequence: Int = 1, relation: StoryRelation = .new, addsInformation: Bool = true,
        headline: String = "Israeli drone strike hits a car in Kawnin, South Lebanon", regions: [NewsRegion] = [.mena],
        urgency: Int = 3, status: NewsStatus = .usable, supersedes: String? = nil, updateOf: String? = nil
    ) -> EnrichedEvent {
        let event = NewsEvent(id: id, kind: .breaking, headline: headline, regions: regions, publishedAt: noon, status: status, supersedes: supersedes)
        let enrichment = Enrichment(
            eventId: id, section: .politics, regions: regions, countries: ["LB"], places: [], entities: [], urgency: Urgency(rawValue: urgency) ?? .routine,
            readingTimeSeconds: nil, language: "en", source: nil, speaker: nil, headline: headline, text: headline, reasons: [])
        let assignment = StoryAssignment(
            storyId: story, sequence: sequence, updateOf: updateOf, relation: relation, supersedes: supersedes, similarity: 1,
            addsInformation: addsInformation, because: "test")
        return EnrichedEvent(event: event, enrichment: enrichment, story: assignment, enrichedAt: noon)
    }

    /// Two subscribers: Beirut (webhook + ticker, MENA rule) and Berlin (email, Economy rule).
    static func catalog(beirutRule: String = #"{"regions": ["MENA"]}"#, budget: Budget = .unlimited) throws -> SubscriptionCatalog {
        var catalog = SubscriptionCatalog()
        catalog.apply(.subscriber(Subscriber(id: "sbr_beirut", name: "Beirut desk", timeZone: "Asia/Beirut", budget: budget, changedAt: noon)))
        catalog.apply(.subscriber(Subscriber(id: "sbr_berlin", name: "Berlin desk", timeZone: "Europe/Berlin", changedAt: noon)))
        catalog.apply(.channel(DeliveryChannel(id: "chn_hook", subscriberID: "sbr_beirut", kind: .webhook, target: "https://example.com/hook", secrets: ["whsec_x"], changedAt: noon)))
        catalog.apply(.channel(DeliveryChannel(id: "chn_tick", subscriberID: "sbr_beirut", kind: .ticker, target: "", changedAt: noon)))
        catalog.apply(.channel(DeliveryChannel(id: "chn_mail", subscriberID: "sbr_berlin", kind: .email, target: "desk@example.com",
                                                   consent: .init(confirmedAt: noon, source: "confirmation link"), changedAt: noon)))
        let beirut = try SubscriptionRule.decode(from: Data(beirutRule.utf8))
        catalog.apply(.subscription(Subscription(id: "sub_mena", subscriberID: "sbr_beirut", rule: beirut, changedAt: noon), subscriberTimeZone: "Asia/Beirut"))
        let berlin = try SubscriptionRule.decode(from: Data(#"{"sections": ["Economy"]}"#.utf8))
        catalog.apply(.subscription(Subscription(id: "sub_economy", subscriberID: "sbr_berlin", rule: berlin, changedAt: noon), subscriberTimeZone: "Europe/Berlin"))
        return catalog
    }

    static func plan(_ event: EnrichedEvent, _ catalog: SubscriptionCatalog, delivered: [StoryDelivery] = [], recent: RecentDeliveries = .none) -> FanoutPlan {
        FanoutPlanner.plan(event, catalog: catalog, delivered: delivered, recent: { _ in recent }, now: noon)
    }

    struct StoreDown: Error {}

    @Test func theBudgetCountIsAskedOnlyForCappedSubscribersAndItsFailureEndsThePlan() throws {
        // No cap: the planner never asks what was sent recently.
        let uncapped = try FanoutPlanner.plan(Self.enriched(id: "evt_u", story: "story-evt_u"), catalog: try Self.catalog(), delivered: [],
                                              recent: { _ in throw StoreDown() }, now: Self.noon)
        #expect(uncapped.immediate.map(\.channelID).sorted() == ["chn_hook", "chn_tick"])
        // A cap: a count that cannot be read is an error, not "nothing sent yet".
        let capped = try Self.catalog(budget: Budget(perHour: 2))
        #expect(throws: StoreDown.self) {
            try FanoutPlanner.plan(Self.enriched(id: "evt_c", story: "story-evt_c"), catalog: capped, delivered: [], recent: { _ in throw StoreDown() }, now: Self.noon)
        }
    }

    @Test func aFirstEventAlertsEveryChannelOfTheMatchingSubscriberOnly() throws {
        let plan = Self.plan(Self.enriched(id: "evt_1", story: "story-evt_1"), try Self.catalog())
        #expect(plan.immediate.map(\.channelID).sorted() == ["chn_hook", "chn_tick"])
        #expect(plan.immediate.allSatisfy { $0.type == .alert && $0.story.updateOf == nil && $0.subscriberID == "sbr_beirut" })
        #expect(plan.immediate.first?.matched == [Alert.Match(subscriptionID: "sub_mena", clause: .regions, value: "MENA")])
        #expect(plan.immediate.map(\.alertID).contains("evt_1.chn_hook"), "the id is stable: event and channel")
    }

    @Test func anUpdateOfAStoryTheSubscriberGotIsAnUpdate() throws {
        let delivered = [StoryDelivery(subscriberID: "sbr_beirut", storyID: "story-evt_1", channelID: "chn_hook", channel: .webhook, lastEventID: "evt_1")]
        let plan = Self.plan(Self.enriched(id: "evt_2", story: "story-evt_1", sequence: 2, relation: .update), try Self.catalog(), delivered: delivered)
        let hook = try #require(plan.immediate.first { $0.channelID == "chn_hook" })
        #expect(hook.type == .update)
        #expect(hook.story.updateOf == "evt_1")
        #expect(plan.immediate.first { $0.channelID == "chn_tick" }?.type == .alert, "the ticker channel had not got the story")
    }

    @Test func aRepeatThatAddsNothingIsNotDeliveredAgain() throws {
        let delivered = [StoryDelivery(subscriberID: "sbr_beirut", storyID: "story-evt_1", channelID: "chn_hook", channel: .webhook, lastEventID: "evt_1")]
        let plan = Self.plan(Self.enriched(id: "evt_2", story: "story-evt_1", sequence: 2, relation: .update, addsInformation: false), try Self.catalog(), delivered: delivered)
        #expect(!plan.immediate.contains { $0.channelID == "chn_hook" })
    }

    @Test func aKillReachesEveryoneWhoGotTheStoryWhateverTheirRulesSayNow() throws {
        let delivered = [
            StoryDelivery(subscriberID: "sbr_beirut", storyID: "story-evt_1", channelID: "chn_hook", channel: .webhook, lastEventID: "evt_2"),
            StoryDelivery(subscriberID: "sbr_berlin", storyID: "story-evt_1", channelID: "chn_mail", channel: .email, lastEventID: "evt_1"),
        ]
        let kill = Self.enriched(id: "evt_3", story: "story-evt_1", sequence: 3, relation: .kill, status: .canceled, supersedes: "evt_1")
        let plan = Self.plan(kill, try Self.catalog(), delivered: delivered)
        #expect(plan.immediate.map(\.channelID) == ["chn_hook", "chn_mail"])
        #expect(plan.immediate.allSatisfy { $0.type == .retraction && $0.matched.isEmpty })
        #expect(plan.immediate.map(\.story.updateOf) == ["evt_2", "evt_1"])
        #expect(plan.cancelsHeldAlertsOfStory == "story-evt_1")
    }

    @Test func quietHoursHoldAndTheTickerStaysLive() throws {
        let rule = #"{"regions": ["MENA"], "quiet_hours": {"start": "00:00", "end": "23:59"}}"#
        let plan = Self.plan(Self.enriched(id: "evt_1", story: "story-evt_1"), try Self.catalog(beirutRule: rule))
        #expect(plan.held.map(\.channelID) == ["chn_hook"])
        #expect(plan.held.first?.deliverAfter != nil)
        #expect(plan.held.first?.digest == false)
        #expect(plan.immediate.map(\.channelID) == ["chn_tick"])
    }

    @Test func aDigestRuleCollectsTheAlertForTheDigest() throws {
        let rule = #"{"regions": ["MENA"], "delivery": {"mode": "digest", "every": "daily", "at": "08:00"}}"#
        let plan = Self.plan(Self.enriched(id: "evt_1", story: "story-evt_1"), try Self.catalog(beirutRule: rule))
        let held = try #require(plan.held.first)
        #expect(held.digest)
        var beirut = Calendar(identifier: .gregorian)
        beirut.timeZone = try #require(TimeZone(identifier: "Asia/Beirut"))
        let due = try #require(held.deliverAfter)
        #expect(beirut.component(.hour, from: due) == 8 && beirut.component(.minute, from: due) == 0)
    }

    @Test func aSpentBudgetDropsAllButFlashes() throws {
        let catalog = try Self.catalog(budget: Budget(perHour: 2, flashExceedsBudget: true))
        let spent = RecentDeliveries(lastHour: 2, lastDay: 2)
        let routine = Self.plan(Self.enriched(id: "evt_1", story: "story-evt_1", urgency: 5), catalog, recent: spent)
        #expect(routine.dropped.map(\.alert.channelID) == ["chn_hook"])
        let flash = Self.plan(Self.enriched(id: "evt_2", story: "story-evt_2", urgency: 1), catalog, recent: spent)
        #expect(flash.immediate.map(\.channelID).contains("chn_hook"))
    }

    @Test func disabledSubscribersSubscriptionsAndChannelsGetNothing() throws {
        var catalog = try Self.catalog()
        catalog.apply(.channel(DeliveryChannel(id: "chn_hook", subscriberID: "sbr_beirut", kind: .webhook, target: "https://example.com/hook", status: .disabled, version: 2, changedAt: Self.noon)))
        #expect(Self.plan(Self.enriched(id: "evt_1", story: "story-evt_1"), catalog).immediate.map(\.channelID) == ["chn_tick"])
        catalog.apply(.subscriber(Subscriber(id: "sbr_beirut", name: "Beirut desk", timeZone: "Asia/Beirut", status: .disabled, version: 2, changedAt: Self.noon)))
        #expect(Self.plan(Self.enriched(id: "evt_1", story: "story-evt_1"), catalog).immediate.isEmpty)
    }

    @Test func deletingASubscriptionTakesItOutOfTheIndex() throws {
        var catalog = try Self.catalog()
        catalog.apply(.deleted(id: "sub_mena"))
        #expect(catalog.ruleCount == 1)
        #expect(Self.plan(Self.enriched(id: "evt_1", story: "story-evt_1"), catalog).immediate.isEmpty)
    }

    @Test func changelogRecordsRoundTripWithTheirKeys() throws {
        let catalog = try Self.catalog()
        let changes: [SubscriptionChange] = catalog.subscribers.values.map { .subscriber($0) } + catalog.channels.values.map { .channel($0) }
            + catalog.subscriptions.values.map { .subscription($0, subscriberTimeZone: "Asia/Beirut") } + [.deleted(id: "sub_gone")]
        for change in changes {
            let decoded = try SubscriptionChange(key: change.key, value: try change.value())
            #expect(decoded == change)
        }
        #expect(throws: (any Error).self) { try SubscriptionChange(key: "sbr_other", value: try SubscriptionChange.subscriber(catalog.subscribers["sbr_beirut"]!).value()) }
    }
}
