import Foundation
import KafkaBridge
@testable import NewsAlertServices
import Testing

/// Read-your-writes: a request waits until this node's replica applied the changelog through its change.
@Suite struct ChangelogPropagationTests {
    static func receipt(_ partition: Int32, _ offset: Int64) -> KafkaDeliveryReceipt {
        KafkaDeliveryReceipt(topic: "subscriptions.changelog", partition: partition, offset: offset)
    }

    @Test func aChangeIsAppliedOnceTheReplicaPassedEveryPartitionItsBatchReached() async throws {
        let propagation = ChangelogPropagation()
        propagation.published(through: 4, receipts: [Self.receipt(0, 10), Self.receipt(2, 3)])
        #expect(await propagation.waitUntilApplied(through: 4, timeout: .milliseconds(20)) == false, "nothing applied yet")
        propagation.applied(partition: 0, offset: 10, timestamp: nil)
        #expect(await propagation.waitUntilApplied(through: 3, timeout: .milliseconds(20)) == false, "partition 2 is behind")

        async let waited = propagation.waitUntilApplied(through: 4, timeout: .seconds(30))
        propagation.applied(partition: 2, offset: 3, timestamp: nil)
        #expect(await waited == true)
        #expect(await propagation.waitUntilApplied(through: 1, timeout: .zero), "older changes are applied too")
    }

    @Test func aLaterBatchOnAnotherPartitionDoesNotHideAnEarlierOne() async throws {
        let propagation = ChangelogPropagation()
        propagation.published(through: 2, receipts: [Self.receipt(1, 0)])
        propagation.published(through: 5, receipts: [Self.receipt(0, 7)])
        propagation.applied(partition: 0, offset: 7, timestamp: nil)
        // Sequence 5's milestone carries partition 1's offset 0 along: not applied until partition 1 is.
        #expect(await propagation.waitUntilApplied(through: 5, timeout: .milliseconds(20)) == false)
        propagation.applied(partition: 1, offset: 0, timestamp: nil)
        #expect(await propagation.waitUntilApplied(through: 5, timeout: .seconds(30)))
    }

    @Test func manyWaitersAreAllReleasedOrTimedOut() async throws {
        let propagation = ChangelogPropagation()
        propagation.published(through: 100, receipts: [Self.receipt(0, 99)])
        let released = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<50 { group.addTask { await propagation.waitUntilApplied(through: 100, timeout: .seconds(30)) } }
            for _ in 0..<50 { group.addTask { await propagation.waitUntilApplied(through: 101, timeout: .milliseconds(50)) } }
            group.addTask {
                propagation.applied(partition: 0, offset: 99, timestamp: nil)
                return true
            }
            var results: [Bool] = []
            for await result in group { results.append(result) }
            return results
        }
        #expect(released.filter { $0 }.count == 51, "the 50 waiters for 100 (and the applier) succeed; the 50 for 101 time out")
    }
}
