import Foundation
@testable import NewsAlertStore
import NewsAlertTestSupport
import NewsAlertCore
import Testing

/// Loops wait on a doorbell rung by committed changes instead of polling.
@Suite struct DoorbellTests {
    @Test func aRingWakesTheWaiterAndARingWithNobodyWaitingIsKept() async throws {
        let bell = Doorbell()
        let clock = ContinuousClock()
        bell.ring()
        let kept = try await clock.measure { await bell.wait(upTo: .seconds(30)) }
        #expect(kept < .seconds(5), "a ring before the wait returns at once")

        async let woken: Void = bell.wait(upTo: .seconds(30))
        try await Task.sleep(for: .milliseconds(50))
        let started = clock.now
        bell.ring()
        await woken
        #expect(clock.now - started < .seconds(5))
    }

    @Test func withoutARingTheWaitEndsAtItsTimeout() async {
        let bell = Doorbell()
        let waited = await ContinuousClock().measure { await bell.wait(upTo: .milliseconds(50)) }
        #expect(waited >= .milliseconds(50))
        // The timed-out wait left nothing behind: the next ring is kept for the next wait.
        bell.ring()
        let next = await ContinuousClock().measure { await bell.wait(upTo: .seconds(30)) }
        #expect(next < .seconds(5))
    }

    @Test func aCommittedChangeOfAWatchedTableRings() async throws {
        let database = try AppDatabase.inMemory()
        let changes = database.changes(of: "delivery")
        let unrelated = database.changes(of: "changelog_outbox")
        _ = try await database.enqueueDelivery(try Alert.fixture(event: "evt_bell", channel: "chn_bell"), target: nil, sourcePartition: 0, sourceOffset: 0)
        let rang = await ContinuousClock().measure { await changes.wait(upTo: .seconds(30)) }
        #expect(rang < .seconds(5))
        let quiet = await ContinuousClock().measure { await unrelated.wait(upTo: .milliseconds(100)) }
        #expect(quiet >= .milliseconds(100), "a table nobody changed does not ring")
    }
}
