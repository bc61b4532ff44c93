import Foundation
import GRDB
import NewsAlertCore
@testable import NewsAlertStore
import NewsAlertTestSupport
import Testing

/// The alert counts an API node shows for an event come from the deliveries it knows: its own and reported ones.
@Suite struct AlertCountTests {
    /// A delivery of `alert` made on `worker`: claimed, then one attempt leaving it in `state`.
    static func deliver(_ alert: Alert, on worker: AppDatabase, state: DeliveryState) async throws {
        _ = try await worker.enqueueDelivery(alert, target: nil, sourcePartition: 0, sourceOffset: 0)
        _ = try await worker.claimDue(channel: .webhook, now: Date().addingTimeInterval(1), limit: 8)
        try await worker.recordAttempt(deliveryID: alert.alertID, DeliveryAttempt(attempt: 1, at: Date(), outcome: state == .delivered ? "delivered" : "retry"),
                                       state: state, nextAttemptAt: nil, reason: nil)
    }

    @Test func aDeliveryCountsOnceWhereverItIsKnown() async throws {
        let worker = try AppDatabase.inMemory(), api = try AppDatabase.inMemory()
        let first = try Alert.fixture(event: "evt_count", channel: "chn_1"), second = try Alert.fixture(event: "evt_count", channel: "chn_2")
        let failing = try Alert.fixture(event: "evt_count", channel: "chn_3"), other = try Alert.fixture(event: "evt_other", channel: "chn_1")
        try await Self.deliver(first, on: worker, state: .delivered)
        try await Self.deliver(second, on: worker, state: .delivered)
        try await Self.deliver(failing, on: worker, state: .retrying)
        try await Self.deliver(other, on: worker, state: .delivered)
        let reports = try #require(try await worker.pendingDeliveryReports(limit: 100)).records
        for report in reports {
            try await api.applyDeliveryReport(report)
            try await worker.applyDeliveryReport(report)  // a node reads its own reports back too
        }
        for node in [worker, api] {
            let counts = try await node.deliveredAlertCounts(eventIDs: ["evt_count", "evt_other", "evt_none"])
            #expect(counts["evt_count"] == ["webhook": 2])
            #expect(counts["evt_other"] == ["webhook": 1])
            #expect(counts["evt_none"] == nil)
        }
        #expect(try await api.deliveredAlertCounts(eventIDs: []).isEmpty)
    }

    @Test func reportsKeptBeforeTheCountsExistedAreCounted() async throws {
        // A database as the previous version left it (migrated through v10) with one reported delivery.
        let queue = try DatabaseQueue()
        try AppDatabase.migrator.migrate(queue, upTo: "v10: the event a pending idempotency claim publishes")
        let alert = try Alert.fixture(event: "evt_old", channel: "chn_old")
        let worker = try AppDatabase.inMemory()
        try await Self.deliver(alert, on: worker, state: .delivered)
        let report = try #require(try await worker.pendingDeliveryReports(limit: 10)?.records.last)
        try await queue.write { db in
            try db.execute(sql: "INSERT INTO delivery_report (id, subscriber_id, event_id, created_at, updated_at, record) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [report.id, report.subscriberID, report.eventID, report.createdAt, report.updatedAt, try JSONEncoder.newsAlert.encode(report)])
        }
        let upgraded = try AppDatabase(queue)
        #expect(try await upgraded.deliveredAlertCounts(eventIDs: ["evt_old"]) == ["evt_old": ["webhook": 1]])
        #expect(try await upgraded.delivery(id: alert.alertID)?.state == .delivered, "the report itself is kept")
    }
}
