import Foundation
import KafkaBridge
import NewsAlertCore
@testable import NewsAlertServices
import NewsAlertStore
import NewsAlertTestSupport
import Testing

/// A delivery handed back on its channel topic travels whole: schedule and every attempt, so its next owner is
/// the single writer of the delivery's full record without waiting for the stopped worker's reports.
@Suite struct DeliveryHandOverTests {
    /// The record the next worker reads, as the broker hands it over.
    static func consumed(_ message: KafkaOutgoingMessage) -> KafkaRecord {
        KafkaRecord(topic: message.topic, partition: 3, offset: 17, key: message.key, value: message.value, headers: message.headers)
    }

    @Test func aHandedBackAlertCarriesItsScheduleAndAttempts() throws {
        let alert = try Alert.fixture(event: "evt_hand", channel: "chn_hand")
        let due = Date(timeIntervalSince1970: 1_800_000_000)
        let history = [
            DeliveryAttempt(attempt: 1, at: due.addingTimeInterval(-60), outcome: "retry", statusCode: 500, detail: "HTTP 500", durationMilliseconds: 12.5),
            DeliveryAttempt(attempt: 2, at: due.addingTimeInterval(-30), outcome: "retry", statusCode: 503, detail: "HTTP 503"),
        ]
        let message = try DeliveryWorker.handOver(HandedBackDelivery(alert: alert, attempts: 2, nextAttemptAt: due, history: history))
        #expect(message.topic == NewsTopics.webhookAlerts.name)
        #expect(message.key == Array(alert.subscriberID.utf8), "keyed like fan-out's alert, so the subscriber's order holds")

        let read = try #require(DeliveryWorker.handedBack(alert, Self.consumed(message)))
        #expect(read.attempts == 2)
        #expect(read.nextAttemptAt.timeIntervalSince1970 == due.timeIntervalSince1970)
        #expect(read.history == history)
    }

    @Test func aFreshAlertFromFanoutIsNotAHandOver() throws {
        let alert = try Alert.fixture(event: "evt_fresh", channel: "chn_fresh")
        let message = try PipelineRecord.alert(alert)
        #expect(DeliveryWorker.handedBack(alert, Self.consumed(message)) == nil)
    }

    @Test func aHandOverWithoutHistoryStillCarriesTheCount() throws {
        // Records handed back by an older worker carry the count and schedule only.
        let alert = try Alert.fixture(event: "evt_old", channel: "chn_old")
        var message = try DeliveryWorker.handOver(HandedBackDelivery(alert: alert, attempts: 1, nextAttemptAt: Date()))
        message.headers.removeAll { $0.key == DeliveryWorker.attemptHistoryHeader }
        let read = try #require(DeliveryWorker.handedBack(alert, Self.consumed(message)))
        #expect(read.attempts == 1 && read.history.isEmpty)
    }

    @Test func theNextWorkerReportsTheWholeDeliveryAsItsOwn() async throws {
        // Worker A makes attempt 1 and hands the delivery back without having reported it (it stopped first);
        // worker B, with an empty disk, reads the hand-over and makes attempt 2. B's report alone shows both.
        let workerA = try AppDatabase.inMemory(), workerB = try AppDatabase.inMemory(), api = try AppDatabase.inMemory()
        let alert = try Alert.fixture(event: "evt_whole", channel: "chn_whole")
        _ = try await workerA.enqueueDelivery(alert, target: nil, sourcePartition: 0, sourceOffset: 0)
        _ = try await workerA.claimDue(channel: .webhook, now: Date().addingTimeInterval(1), limit: 8)
        try await workerA.recordAttempt(deliveryID: alert.alertID, DeliveryAttempt(attempt: 1, at: Date(), outcome: "retry", statusCode: 500),
                                        state: .retrying, nextAttemptAt: Date(), reason: "HTTP 500")
        let pending = try #require(try await workerA.pendingDeliveries(channel: .webhook).first)
        let record = Self.consumed(try DeliveryWorker.handOver(pending))

        let handedBack = try #require(DeliveryWorker.handedBack(alert, record))
        _ = try await workerB.enqueueDelivery(alert, target: nil, sourcePartition: 3, sourceOffset: 17, handedBack: handedBack)
        let claimed = try await workerB.claimDue(channel: .webhook, now: Date().addingTimeInterval(1), limit: 8)
        #expect(claimed.map(\.attempts) == [1])
        try await workerB.recordAttempt(deliveryID: alert.alertID, DeliveryAttempt(attempt: 2, at: Date(), outcome: "delivered", statusCode: 200),
                                        state: .delivered, nextAttemptAt: nil, reason: nil)

        for report in try #require(try await workerB.pendingDeliveryReports(limit: 100)).records {
            try await api.applyDeliveryReport(report)
        }
        let shown = try #require(try await api.delivery(id: alert.alertID))
        #expect(shown.state == .delivered)
        #expect(shown.attempts.map(\.attempt) == [1, 2] && shown.attempts.map(\.outcome) == ["retry", "delivered"])
    }
}
