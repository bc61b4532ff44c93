import Foundation
import NewsAlertCore
import Testing

/// The audience a preview shows: a fan-out plan counted by channel kind and by what policies do.
@Suite struct AudiencePreviewTests {
    @Test func countsByChannelAndPolicyFromThePlan() throws {
        // Beirut: webhook + ticker on a MENA rule with quiet hours all day (flashes not let through);
        // Berlin: email on an Economy digest. The event matches both.
        var catalog = try FanoutPlannerTests.catalog(beirutRule: #"{"regions": ["MENA"], "quiet_hours": {"start": "00:00", "end": "23:59", "allow_flash": false}}"#)
        let digest = try SubscriptionRule.decode(from: Data(#"{"sections": ["Politics"], "delivery": {"mode": "digest", "every": "daily", "at": "08:00"}}"#.utf8))
        catalog.apply(.subscription(Subscription(id: "sub_digest", subscriberID: "sbr_berlin", rule: digest, changedAt: FanoutPlannerTests.noon), subscriberTimeZone: "Europe/Berlin"))
        let plan = FanoutPlannerTests.plan(FanoutPlannerTests.enriched(id: "evt_1", story: "story-evt_1"), catalog)
        let audience = AudiencePreview(plan: plan, tickerReaders: 7)
        #expect(audience.byChannel["ticker"]?.now == 1, "the ticker ignores quiet hours")
        #expect(audience.byChannel["webhook"]?.heldQuietHours == 1)
        #expect(audience.byChannel["email"]?.heldDigest == 1)
        #expect(audience.total.now == 1 && audience.total.heldQuietHours == 1 && audience.total.heldDigest == 1 && audience.total.droppedBudget == 0)
        #expect(audience.subscribersNow == 1)
        #expect(audience.channelsNow == 1)
        #expect(audience.subscribersMatched == 2)
        #expect(audience.tickerReaders == 7)
        #expect(Set(audience.byChannel.keys) == ["webhook", "email", "ticker"])
    }

    @Test func aUsedUpBudgetDropsWithItsReason() throws {
        let catalog = try FanoutPlannerTests.catalog(budget: Budget(perHour: 1))
        let plan = FanoutPlannerTests.plan(FanoutPlannerTests.enriched(id: "evt_1", story: "story-evt_1"), catalog, recent: RecentDeliveries(lastHour: 1, lastDay: 1))
        let audience = AudiencePreview(plan: plan, tickerReaders: 0)
        #expect(audience.byChannel["webhook"]?.droppedBudget == 1)
        #expect(audience.byChannel["ticker"]?.now == 1)
        #expect(audience.dropReasons.count == 1)
        #expect(audience.subscribersNow == 1 && audience.channelsNow == 1)
    }

    @Test func nobodyForADuplicate() throws {
        let encoded = try JSONSerialization.jsonObject(with: JSONEncoder.newsAlert.encode(AudiencePreview.nobody(tickerReaders: 2))) as? [String: Any]
        #expect(encoded?["subscribers_now"] as? Int == 0)
        #expect(encoded?["ticker_readers"] as? Int == 2)
        #expect((encoded?["by_channel"] as? [String: Any])?.count == 3)
    }
}
