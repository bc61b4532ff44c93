import NIOConcurrencyHelpers

/// A counting semaphore per endpoint: at most ``limit`` deliveries to one endpoint run at once,
/// while deliveries to other endpoints proceed independently. Waiters are served in arrival
/// order; a cancelled waiter leaves the queue at once with `CancellationError`.
public final class EndpointConcurrencyLimiter: Sendable {
    /// The most permits one endpoint can hold at once.
    public let limit: Int

    private let state = NIOLockedValueBox(State())

    /// Creates a limiter allowing `limit` concurrent holders per endpoint.
    public init(limit: Int) {
        precondition(limit >= 1, "the per-endpoint concurrency limit must be at least 1")
        self.limit = limit
    }

    /// Runs `body` while holding one of `endpoint`'s permits, waiting for one if necessary.
    public func withPermit<T: Sendable>(
        for endpoint: String,
        _ body: () async throws -> T
    ) async throws -> T {
        try await acquire(endpoint)
        defer { release(endpoint) }
        return try await body()
    }

    /// The number of permits `endpoint` holds and the number of tasks waiting for one.
    public func usage(of endpoint: String) -> (active: Int, waiting: Int) {
        state.withLockedValue { state in
            let entry = state.endpoints[endpoint]
            return (entry?.active ?? 0, entry?.queue.count ?? 0)
        }
    }

    /// Takes a permit for `endpoint`, waiting until one is free. Pair with ``release(_:)``.
    public func acquire(_ endpoint: String) async throws {
        try Task.checkCancellation()
        let id = state.withLockedValue { state in
            state.nextID &+= 1
            state.waiters[state.nextID] = .registered
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let result: Result<Void, any Error>? = state.withLockedValue { state in
                    if case .cancelled = state.waiters[id] {
                        state.waiters[id] = nil
                        return .failure(CancellationError())
                    }
                    var entry = state.endpoints[endpoint, default: Endpoint()]
                    if entry.active < limit {
                        entry.active += 1
                        state.endpoints[endpoint] = entry
                        state.waiters[id] = nil
                        return .success(())
                    }
                    entry.queue.append(id)
                    state.endpoints[endpoint] = entry
                    state.waiters[id] = .waiting(continuation, endpoint: endpoint)
                    return nil
                }
                if let result { continuation.resume(with: result) }
            }
        } onCancel: {
            let continuation: CheckedContinuation<Void, any Error>? = state.withLockedValue { state in
                switch state.waiters[id] {
                case .registered:
                    state.waiters[id] = .cancelled
                    return nil
                case .waiting(let continuation, let endpoint):
                    state.waiters[id] = nil
                    state.endpoints[endpoint]?.queue.removeAll { $0 == id }
                    if let entry = state.endpoints[endpoint], entry.active == 0, entry.queue.isEmpty {
                        state.endpoints[endpoint] = nil
                    }
                    return continuation
                case .cancelled, nil:
                    return nil
                }
            }
            continuation?.resume(throwing: CancellationError())
        }
    }

    /// Returns a permit taken with ``acquire(_:)``, handing it to the next waiter if there is one.
    public func release(_ endpoint: String) {
        let next: CheckedContinuation<Void, any Error>? = state.withLockedValue { state in
            guard var entry = state.endpoints[endpoint] else {
                preconditionFailure("release without acquire for an endpoint")
            }
            while !entry.queue.isEmpty {
                let id = entry.queue.removeFirst()
                if case .waiting(let continuation, _) = state.waiters[id] {
                    state.waiters[id] = nil
                    state.endpoints[endpoint] = entry
                    return continuation  // the permit passes to the waiter; `active` is unchanged
                }
            }
            entry.active -= 1
            state.endpoints[endpoint] = entry.active == 0 ? nil : entry
            return nil
        }
        next?.resume()
    }

    private struct State {
        var endpoints: [String: Endpoint] = [:]
        var waiters: [UInt64: Waiter] = [:]
        var nextID: UInt64 = 0
    }

    private struct Endpoint {
        var active = 0
        var queue: [UInt64] = []
    }

    private enum Waiter {
        case registered
        case waiting(CheckedContinuation<Void, any Error>, endpoint: String)
        case cancelled
    }
}
