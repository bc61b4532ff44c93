import NIOConcurrencyHelpers

/// A bell a loop waits on instead of polling: `ring()` wakes the waiting task, and a ring while nobody waits is
/// kept for the next `wait`, so no change that happened between two waits is missed.
public final class Doorbell: Sendable {
    private struct State {
        var rung = false
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        /// Waits cancelled (timed out) before their continuation was stored.
        var abandoned: Set<UInt64> = []
        var nextID: UInt64 = 0
    }

    private let state = NIOLockedValueBox(State())

    public init() {}

    /// Wakes every waiting task, or the next one to wait.
    public func ring() {
        let waiters = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            guard !state.waiters.isEmpty else {
                state.rung = true
                return []
            }
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once rung (at once if rung since the last wait), or after `timeout`.
    public func wait(upTo timeout: Duration) async {
        let id: UInt64? = state.withLockedValue { state in
            if state.rung {
                state.rung = false
                return nil
            }
            state.nextID += 1
            return state.nextID
        }
        guard let id else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: timeout) }
            group.addTask {
                await withTaskCancellationHandler {
                    await withCheckedContinuation { continuation in
                        let resumeNow = self.state.withLockedValue { state -> Bool in
                            if state.abandoned.remove(id) != nil { return true }
                            if state.rung {
                                state.rung = false
                                return true
                            }
                            state.waiters[id] = continuation
                            return false
                        }
                        if resumeNow { continuation.resume() }
                    }
                } onCancel: {
                    let waiter = self.state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
                        if let waiter = state.waiters.removeValue(forKey: id) { return waiter }
                        state.abandoned.insert(id)
                        return nil
                    }
                    waiter?.resume()
                }
            }
            await group.next()
            group.cancelAll()
        }
        state.withLockedValue { _ = $0.abandoned.remove(id) }
    }
}
