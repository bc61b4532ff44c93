import Foundation
import NewsAlertCore
import NewsAlertStore
import NewsAlertTestSupport
import Testing

/// Erasing a reader: every row of it deleted with a tombstone on the changelog, its deliveries kept only anonymised.
@Suite struct ErasureTests {
    @Test func erasureDeletesTheReaderAndAnonymisesItsDeliveries() async throws {
        let database = try AppDatabase.inMemory()
        let outcome = try await database.signUpReader(email: "reader@example.com", timeZone: "UTC", rules: [SubscriptionRule(regions: ["MENA"])])
        guard case .created(let id, let channel, _) = outcome else { Issue.record("not created: \(outcome)"); return }
        let kept = try await database.createSubscriber(name: "Desk", timeZone: "UTC", budget: .unlimited)
        var plan = FanoutPlan()
        plan.immediate = [try Alert.fixture(event: "evt_1", channel: channel, subscriber: id), try Alert.fixture(event: "evt_1", channel: "chn_desk", subscriber: kept.id)]
        try await database.recordFanout(plan, eventID: "evt_1")
        #expect(try await database.deliveries(subscriberID: id, limit: 10).count == 1)

        try await database.erase(subscriberID: id)
        #expect(try await database.subscriber(id: id) == nil)
        #expect(try await database.channel(id: channel) == nil)
        #expect(try await database.deliveries(subscriberID: id, limit: 10).isEmpty)
        let anonymised = try await database.deliveries(subscriberID: AppDatabase.erasedSubscriberID, limit: 10)
        #expect(anonymised.count == 1)
        #expect(anonymised.first?.alert.subscriberID == AppDatabase.erasedSubscriberID)
        #expect(anonymised.first?.alert.channelID == AppDatabase.erasedChannelID)
        #expect(try await database.deliveries(subscriberID: kept.id, limit: 10).count == 1, "other subscribers' deliveries are untouched")
        let tombstones = try await database.pendingChanges(limit: 100).filter { $0.value == nil }.map(\.key)
        #expect(Set(tombstones).isSuperset(of: [id, channel]))
        #expect(try await database.snapshot().allSatisfy { $0.key != id && $0.key != channel })
    }
}
