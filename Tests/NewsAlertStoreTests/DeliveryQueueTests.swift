import Foundation
import NewsAlertCore
@testable import NewsAlertStore
import NewsAlertTestSupport
import Testing

/// The delivery queue: claims are exclusive, and one receiver's backlog does not take every slot.
@Suite struct DeliveryQueueTests {
    static func alert(event: String, channel: String) throws -> Alert {
        try Alert.fixture(event: event, channel: channel)
    }

    @Test func aBacklogForOneReceiverLeavesRoomForOthers() async throws {
        let database = try AppDatabase.inMemory()
        for index in 0..<10 {
            _ = try await database.enqueueDelivery(try Self.alert(event: "evt_a\(index)", channel: "chn_slow"), target: nil, sourcePartition: 0, sourceOffset: Int64(index))
        }
        _ = try await database.enqueueDelivery(try Self.alert(event: "evt_b", channel: "chn_fast"), target: nil, sourcePartition: 0, sourceOffset: 10)
        let later = Date().addingTimeInterval(1)
        let first = try await database.claimDue(channel: .webhook, now: later, limit: 8, perTarget: 2)
        #expect(first.filter { $0.alert.channelID == "chn_slow" }.count == 2)
        #expect(first.contains { $0.alert.channelID == "chn_fast" })
        // The slow receiver's two are still in flight: nothing more of it until one finishes.
        #expect(try await database.claimDue(channel: .webhook, now: later, limit: 8, perTarget: 2).isEmpty)
        let done = try #require(first.first { $0.alert.channelID == "chn_slow" })
        try await database.recordAttempt(deliveryID: done.alert.alertID, DeliveryAttempt(attempt: 1, at: Date(), outcome: "delivered"), state: .delivered, nextAttemptAt: nil, reason: nil)
        let next = try await database.claimDue(channel: .webhook, now: later, limit: 8, perTarget: 2)
        #expect(next.map(\.alert.channelID) == ["chn_slow"], "one slot freed, one more claimed")
    }

    @Test func aHandedBackDeliveryCarriesItsScheduleToTheNextWorker() async throws {
        let stopping = try AppDatabase.inMemory()
        let alert = try Self.alert(event: "evt_h", channel: "chn_h")
        _ = try await stopping.enqueueDelivery(alert, target: nil, sourcePartition: 0, sourceOffset: 0)
        let now = Date()
        _ = try await stopping.claimDue(channel: .webhook, now: now.addingTimeInterval(1), limit: 8)
        let due = now.addingTimeInterval(300)
        try await stopping.recordAttempt(deliveryID: alert.alertID, DeliveryAttempt(attempt: 1, at: now, outcome: "retry", statusCode: 500),
                                         state: .retrying, nextAttemptAt: due, reason: "HTTP 500")
        let pending = try await stopping.pendingDeliveries(channel: .webhook)
        #expect(pending.map(\.alert.alertID) == [alert.alertID] && pending.first?.attempts == 1)
        try await stopping.markHandedBack(pending.map(\.alert.alertID))
        #expect(try await stopping.pendingDeliveries(channel: .webhook).isEmpty, "handed back: no longer this worker's")

        // The next worker, with an empty database: the retry stays where the schedule put it, as attempt 2.
        let next = try AppDatabase.inMemory()
        let handedBack = try #require(pending.first)
        #expect(handedBack.history.map(\.attempt) == [1] && handedBack.history.first?.statusCode == 500)
        #expect(try await next.enqueueDelivery(alert, target: nil, sourcePartition: 0, sourceOffset: 1, handedBack: handedBack) == .retrying)
        // It owns the whole delivery now: attempt 1 is in its own record, whatever another node has reported.
        #expect(try await next.delivery(id: alert.alertID)?.attempts.map(\.outcome) == ["retry"])
        #expect(try await next.pendingDeliveryReports(limit: 10)?.records.last?.attempts.map(\.attempt) == [1])
        #expect(try await next.claimDue(channel: .webhook, now: now.addingTimeInterval(10), limit: 8).isEmpty)
        let claimed = try await next.claimDue(channel: .webhook, now: due.addingTimeInterval(1), limit: 8)
        #expect(claimed.map(\.attempts) == [1])
        // Read back by the worker that handed it back, it is its own again.
        #expect(try await stopping.enqueueDelivery(alert, target: nil, sourcePartition: 0, sourceOffset: 1, handedBack: handedBack) == .retrying)
    }

    @Test func deliveriesAnotherNodeReportedAreShownWithEveryAttempt() async throws {
        // Worker A makes attempt 1 and hands the delivery back; worker B makes attempt 2. The API node made neither.
        let workerA = try AppDatabase.inMemory(), workerB = try AppDatabase.inMemory(), api = try AppDatabase.inMemory()
        let alert = try Self.alert(event: "evt_r", channel: "chn_r")
        let now = Date.storeNow
        _ = try await workerA.enqueueDelivery(alert, target: nil, sourcePartition: 0, sourceOffset: 0)
        _ = try await workerA.claimDue(channel: .webhook, now: now.addingTimeInterval(1), limit: 8)
        try await workerA.recordAttempt(deliveryID: alert.alertID, DeliveryAttempt(attempt: 1, at: now, outcome: "retry", statusCode: 500),
                                        state: .retrying, nextAttemptAt: now, reason: "HTTP 500")
        let handedBack = try #require(try await workerA.pendingDeliveries(channel: .webhook).first)
        try await workerA.markHandedBack([alert.alertID])
        _ = try await workerB.enqueueDelivery(alert, target: nil, sourcePartition: 0, sourceOffset: 1, handedBack: handedBack)
        _ = try await workerB.claimDue(channel: .webhook, now: now.addingTimeInterval(2), limit: 8)
        try await workerB.recordAttempt(deliveryID: alert.alertID, DeliveryAttempt(attempt: 2, at: now.addingTimeInterval(2), outcome: "delivered", statusCode: 200),
                                        state: .delivered, nextAttemptAt: nil, reason: nil)

        // Every node applies every report, its own included, in any order.
        let reportsA = try #require(try await workerA.pendingDeliveryReports(limit: 100)).records
        let reportsB = try #require(try await workerB.pendingDeliveryReports(limit: 100)).records
        for node in [api, workerA, workerB] {
            for report in (reportsB + reportsA) { try await node.applyDeliveryReport(report) }
            let shown = try #require(try await node.delivery(id: alert.alertID))
            #expect(shown.state == .delivered)
            #expect(shown.attempts.map(\.attempt) == [1, 2] && shown.attempts.map(\.outcome) == ["retry", "delivered"])
            #expect(try await node.deliveries(subscriberID: "sbr_x", limit: 10).map(\.id) == [alert.alertID])
        }
        try await workerA.removeReportedDeliveries(through: Int64.max)
        #expect(try await workerA.pendingDeliveryReports(limit: 100) == nil)
    }

    @Test func aForwardedReplayIsSentAgainByTheWorkerHoldingItOrTakenUpByTheNext() async throws {
        let holder = try AppDatabase.inMemory(), next = try AppDatabase.inMemory()
        let alert = try Self.alert(event: "evt_p", channel: "chn_p")
        let now = Date.storeNow
        _ = try await holder.enqueueDelivery(alert, target: nil, sourcePartition: 0, sourceOffset: 0)
        _ = try await holder.claimDue(channel: .webhook, now: now.addingTimeInterval(1), limit: 8)
        try await holder.recordAttempt(deliveryID: alert.alertID, DeliveryAttempt(attempt: 1, at: now, outcome: "delivered", statusCode: 200),
                                       state: .delivered, nextAttemptAt: nil, reason: nil)
        // A redelivered record leaves the delivered alert alone; a replay another node forwarded puts it back in line.
        _ = try await holder.enqueueDelivery(alert, target: nil, sourcePartition: 0, sourceOffset: 0)
        #expect(try await holder.claimDue(channel: .webhook, now: Date().addingTimeInterval(60), limit: 8).isEmpty)
        let forwarded = HandedBackDelivery(alert: alert, attempts: 1, nextAttemptAt: Date())
        #expect(try await holder.enqueueDelivery(alert, target: nil, sourcePartition: 0, sourceOffset: 9, handedBack: forwarded, replay: true) == .retrying)
        #expect(try await holder.claimDue(channel: .webhook, now: Date().addingTimeInterval(1), limit: 8).map { $0.attempts } == [1])
        // A worker that never held it (the subscriber's partition moved) takes it up, attempt 1 counted.
        #expect(try await next.enqueueDelivery(alert, target: nil, sourcePartition: 0, sourceOffset: 9, handedBack: forwarded, replay: true) == .retrying)
        #expect(try await next.claimDue(channel: .webhook, now: Date().addingTimeInterval(1), limit: 8).map { $0.attempts } == [1])
    }
}
