import Foundation
import NewsAlertCore
@testable import NewsAlertStore
import NewsAlertTestSupport
import Testing

/// A FLASH's progress from the delivery log read model: planned, on the channel topics, delivered, failed.
@Suite struct AlertProgressTests {
    @Test func progressCountsEachDeliveryOnceInItsFurthestState() async throws {
        let fanout = try AppDatabase.inMemory(), api = try AppDatabase.inMemory()
        let alerts = try (1...5).map { try Alert.fixture(event: "evt_flash", channel: "chn_\($0)", subscriber: "sbr_\($0)") }
        var held = try Alert.fixture(event: "evt_flash", channel: "chn_held", subscriber: "sbr_held")
        held.deliverAfter = Date().addingTimeInterval(3600)
        let dropped = try Alert.fixture(event: "evt_flash", channel: "chn_drop", subscriber: "sbr_drop")
        var plan = FanoutPlan()
        plan.immediate = alerts
        plan.held = [held]
        plan.dropped = [(dropped, "budget 1 per hour used up")]
        #expect(try await fanout.alertProgress(eventIDs: ["evt_flash"])["evt_flash"] == AlertProgress(fannedOut: false))
        try await fanout.recordFanout(plan, eventID: "evt_flash")

        let planned = try #require(try await fanout.alertProgress(eventIDs: ["evt_flash"])["evt_flash"])
        #expect(planned.fannedOut)
        #expect((planned.planned, planned.onTopics, planned.held, planned.dropped, planned.delivered, planned.failed) == (6, 5, 1, 1, 0, 0))

        // The deliverer (here the same node) delivers three, retries one, fails one for good.
        for (alert, state) in zip(alerts, [DeliveryState.delivered, .delivered, .delivered, .retrying, .failed]) {
            try await AlertCountTests.deliver(alert, on: fanout, state: state)
        }
        let going = try #require(try await fanout.alertProgress(eventIDs: ["evt_flash"])["evt_flash"])
        #expect((going.planned, going.onTopics, going.delivered, going.failed, going.retrying) == (6, 5, 3, 1, 1))
        #expect(going.byChannel == ["webhook": ["delivered": 3, "retrying": 1, "failed": 1, "held": 1, "dropped": 1]])

        // Another node knows them only from the reports, and counts the same.
        for report in try #require(try await fanout.pendingDeliveryReports(limit: 100)).records {
            try await api.applyDeliveryReport(report)
        }
        let reported = try #require(try await api.alertProgress(eventIDs: ["evt_flash", "evt_none"]))
        #expect(reported["evt_flash"]?.delivered == 3)
        #expect(reported["evt_flash"]?.failed == 1)
        #expect(reported["evt_none"] == AlertProgress(fannedOut: false))
    }
}
