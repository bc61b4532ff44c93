import Foundation
import KafkaBridge
import Metrics
import NewsAlertHTTP
import NIOConcurrencyHelpers

/// How far this node's subscription changes have come: the changelog publisher reports where each published
/// outbox sequence landed on `subscriptions.changelog`, the replica reports what it applied, and a request that
/// changed subscriptions waits until the replica applied its change (read-your-writes).
///
/// Positions are cumulative: a published milestone carries, per partition, the highest offset published so
/// far; the replica reads each partition in order, so once it passed those offsets every change up to the
/// milestone's sequence is applied.
public final class ChangelogPropagation: SubscriptionReplication, Sendable {
    private struct Milestone {
        var sequence: Int64
        var positions: [Int32: Int64]
    }

    /// A request waiting for its change: registered before its continuation exists, so a timeout or an
    /// advance that comes first is never missed.
    private enum Waiter {
        case registered(sequence: Int64)
        case waiting(sequence: Int64, CheckedContinuation<Void, Never>)
        /// Applied before the continuation was stored.
        case done
        /// Timed out before the continuation was stored.
        case abandoned
    }

    private struct State {
        var published: [Int32: Int64] = [:]
        var milestones: [Milestone] = []
        /// The next offset the replica will apply, per partition.
        var applied: [Int32: Int64] = [:]
        /// Every change through this sequence is applied.
        var appliedThrough: Int64 = 0
        var waiters: [UInt64: Waiter] = [:]
        var nextWaiter: UInt64 = 0

        /// Moves `appliedThrough` past every milestone the replica has passed; returns the waiters now satisfied.
        mutating func advance() -> [CheckedContinuation<Void, Never>] {
            while let first = milestones.first, first.positions.allSatisfy({ applied[$0.key, default: 0] > $0.value }) {
                appliedThrough = max(appliedThrough, first.sequence)
                milestones.removeFirst()
            }
            var ready: [CheckedContinuation<Void, Never>] = []
            for (id, waiter) in waiters {
                switch waiter {
                case .registered(let sequence) where sequence <= appliedThrough: waiters[id] = .done
                case .waiting(let sequence, let continuation) where sequence <= appliedThrough:
                    waiters[id] = nil
                    ready.append(continuation)
                default: break
                }
            }
            return ready
        }
    }

    private let state = NIOLockedValueBox(State())
    /// Records older than this process are history being replayed, not replication lag.
    private let startedAt = Date()

    public init() {}

    /// The changelog publisher published the outbox through `sequence`, at these positions.
    func published(through sequence: Int64, receipts: [KafkaDeliveryReceipt]) {
        let ready = state.withLockedValue { state in
            for receipt in receipts { state.published[receipt.partition] = max(state.published[receipt.partition] ?? -1, receipt.offset) }
            state.milestones.append(Milestone(sequence: sequence, positions: state.published))
            return state.advance()
        }
        for continuation in ready { continuation.resume() }
    }

    /// The replica applied the record at `offset` of `partition`, written at `timestamp`; the time since then is
    /// the replication lag (`newsalert_subscription_replication_lag_seconds`).
    func applied(partition: Int32, offset: Int64, timestamp: Date?) {
        if let timestamp, timestamp >= startedAt {
            Timer(label: "newsalert_subscription_replication_lag_seconds").recordSeconds(max(0, Date().timeIntervalSince(timestamp)))
        }
        let ready = state.withLockedValue { state in
            state.applied[partition] = max(state.applied[partition] ?? 0, offset + 1)
            return state.advance()
        }
        for continuation in ready { continuation.resume() }
    }

    /// Whether the replica, once it applied `records`, has read everything published so far.
    func isCaughtUp(after records: [KafkaRecord]) -> Bool {
        state.withLockedValue { state in
            var next = state.applied
            for record in records { next[record.partition] = max(next[record.partition] ?? 0, record.offset + 1) }
            return state.published.allSatisfy { next[$0.key, default: 0] > $0.value }
        }
    }

    public func waitUntilApplied(through sequence: Int64, timeout: Duration) async -> Bool {
        let id: UInt64? = state.withLockedValue { state in
            if state.appliedThrough >= sequence { return nil }
            state.nextWaiter += 1
            state.waiters[state.nextWaiter] = .registered(sequence: sequence)
            return state.nextWaiter
        }
        guard let id else { return true }
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    let resumeNow = self.state.withLockedValue { state in
                        switch state.waiters[id] {
                        case .registered(let sequence):
                            state.waiters[id] = .waiting(sequence: sequence, continuation)
                            return false
                        default:
                            state.waiters[id] = nil
                            return true
                        }
                    }
                    if resumeNow { continuation.resume() }
                }
                return true
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let applied = await group.next() ?? false
            group.cancelAll()
            // Release the other child: a timed-out waiter is resumed (or told to resume at once) and forgotten.
            let abandoned: CheckedContinuation<Void, Never>? = state.withLockedValue { state in
                switch state.waiters[id] {
                case .waiting(_, let continuation):
                    state.waiters[id] = nil
                    return continuation
                case .registered: state.waiters[id] = .abandoned
                default: state.waiters[id] = nil
                }
                return nil
            }
            abandoned?.resume()
            return applied
        }
    }
}
