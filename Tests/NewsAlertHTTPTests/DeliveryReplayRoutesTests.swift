import Foundation
import Hummingbird
import HummingbirdTesting
import NewsAlertCore
import NewsAlertHTTP
@testable import NewsAlertStore
import NewsAlertTestSupport
import NIOConcurrencyHelpers
import Testing

/// `POST /v1/deliveries/{id}/replay` on a node that knows the delivery only from another node's report.
@Suite struct DeliveryReplayRoutesTests {
    /// Keeps the replays the route handed on, as the channel topic would receive them.
    final class ForwardedReplays: DeliveryReplayForwarder {
        let forwarded = NIOLockedValueBox<[DeliveryRecord]>([])

        func forwardReplay(of delivery: DeliveryRecord) async throws {
            forwarded.withLockedValue { $0.append(delivery) }
        }
    }

    /// Another node's report of a delivery of `alert` in `state` after one attempt.
    static func reported(_ alert: Alert, state: DeliveryState) async throws -> DeliveryRecord {
        let worker = try AppDatabase.inMemory()
        _ = try await worker.enqueueDelivery(alert, target: nil, sourcePartition: 0, sourceOffset: 0)
        _ = try await worker.claimDue(channel: .webhook, now: Date().addingTimeInterval(1), limit: 8)
        try await worker.recordAttempt(deliveryID: alert.alertID, DeliveryAttempt(attempt: 1, at: Date(), outcome: "failed", statusCode: 500),
                                       state: state, nextAttemptAt: nil, reason: "HTTP 500")
        return try #require(try await worker.pendingDeliveryReports(limit: 10)?.records.last)
    }

    @Test func aDeadDeliveryAnotherNodeReportedIsForwardedWithItsAttempts() async throws {
        let replays = ForwardedReplays()
        let harness = try await EventRoutesTests.Harness(replays: replays)
        let dead = try Alert.fixture(event: "evt_dead", channel: "chn_r"), queued = try Alert.fixture(event: "evt_queued", channel: "chn_r")
        try await harness.database.applyDeliveryReport(try await Self.reported(dead, state: .dead))
        try await harness.database.applyDeliveryReport(try await Self.reported(queued, state: .queued))
        try await harness.test { client in
            try await client.execute(uri: "/v1/deliveries/\(dead.alertID)/replay", method: .post, headers: EventRoutesTests.headers(harness.editor)) { response in
                #expect(response.status == .accepted)
                let status = try EventRoutesTests.object(response.body)["status"] as? String
                #expect(status == "replay scheduled")
            }
            // Not replayable by its state: nothing is forwarded.
            try await client.execute(uri: "/v1/deliveries/\(queued.alertID)/replay", method: .post, headers: EventRoutesTests.headers(harness.editor)) { response in
                #expect(response.status == .conflict)
                let error = try EventRoutesTests.object(response.body)["error"] as? [String: Any]
                #expect(error?["code"] as? String == "not_replayable")
            }
        }
        let forwarded = replays.forwarded.withLockedValue { $0 }
        #expect(forwarded.map(\.id) == [dead.alertID])
        #expect(forwarded.map(\.attemptsMade) == [1])
    }

    @Test func aDeliveryThisNodeHandedBackIsForwardedToTheWorkerThatFinishedIt() async throws {
        let replays = ForwardedReplays()
        let harness = try await EventRoutesTests.Harness(replays: replays)
        let alert = try Alert.fixture(event: "evt_handed", channel: "chn_r")
        // This node made attempt 1 and handed the retry back at shutdown; another worker delivered it as attempt 2.
        _ = try await harness.database.enqueueDelivery(alert, target: nil, sourcePartition: 0, sourceOffset: 0)
        _ = try await harness.database.claimDue(channel: .webhook, now: Date().addingTimeInterval(1), limit: 8)
        try await harness.database.recordAttempt(deliveryID: alert.alertID, DeliveryAttempt(attempt: 1, at: Date(), outcome: "retry", statusCode: 500),
                                                 state: .retrying, nextAttemptAt: Date(), reason: "HTTP 500")
        try await harness.database.markHandedBack([alert.alertID])
        let next = try AppDatabase.inMemory()
        _ = try await next.enqueueDelivery(alert, target: nil, sourcePartition: 0, sourceOffset: 1, handedBack: HandedBackDelivery(alert: alert, attempts: 1, nextAttemptAt: Date()))
        _ = try await next.claimDue(channel: .webhook, now: Date().addingTimeInterval(1), limit: 8)
        try await next.recordAttempt(deliveryID: alert.alertID, DeliveryAttempt(attempt: 2, at: Date(), outcome: "delivered", statusCode: 200),
                                     state: .delivered, nextAttemptAt: nil, reason: nil)
        for report in try #require(try await next.pendingDeliveryReports(limit: 10)).records {
            try await harness.database.applyDeliveryReport(report)
        }
        try await harness.test { client in
            try await client.execute(uri: "/v1/deliveries/\(alert.alertID)/replay", method: .post, headers: EventRoutesTests.headers(harness.editor)) { response in
                #expect(response.status == .accepted)
            }
        }
        #expect(replays.forwarded.withLockedValue { $0 }.map(\.attemptsMade) == [2])
    }
}
