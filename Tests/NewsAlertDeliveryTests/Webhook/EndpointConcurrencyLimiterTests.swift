import NIOConcurrencyHelpers
import Testing

import NewsAlertDelivery

@Suite("Per-endpoint concurrency limit", .timeLimit(.minutes(1)))
struct EndpointConcurrencyLimiterTests {
    /// Polls until `condition` holds; the suite's time limit bounds the wait.
    private func eventually(_ condition: () -> Bool) async throws {
        while !condition() { try await Task.sleep(for: .milliseconds(5)) }
    }

    @Test("a full endpoint makes callers wait while other endpoints proceed")
    func perEndpoint() async throws {
        let limiter = EndpointConcurrencyLimiter(limit: 1)
        try await limiter.acquire("slow")
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await limiter.withPermit(for: "slow") {} }
            try await eventually { limiter.usage(of: "slow") == (1, 1) }

            // Another endpoint is not held up.
            try await limiter.withPermit(for: "fast") {
                #expect(limiter.usage(of: "fast") == (1, 0))
            }
            #expect(limiter.usage(of: "slow") == (1, 1))

            limiter.release("slow")
            try await group.waitForAll()
        }
        #expect(limiter.usage(of: "slow") == (0, 0))
        #expect(limiter.usage(of: "fast") == (0, 0))
    }

    @Test("waiters are served in arrival order")
    func fifo() async throws {
        let limiter = EndpointConcurrencyLimiter(limit: 1)
        try await limiter.acquire("e")
        let order = OrderRecorder()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<3 {
                group.addTask {
                    try await limiter.withPermit(for: "e") {
                        #expect(limiter.usage(of: "e").active == 1)
                        order.append(index)
                    }
                }
                try await eventually { limiter.usage(of: "e").waiting == index + 1 }
            }
            limiter.release("e")
            try await group.waitForAll()
        }
        #expect(order.values == [0, 1, 2])
        #expect(limiter.usage(of: "e") == (0, 0))
    }

    @Test("a cancelled waiter leaves the queue")
    func cancellation() async throws {
        let limiter = EndpointConcurrencyLimiter(limit: 1)
        try await limiter.acquire("e")
        let waiter = Task { try await limiter.acquire("e") }
        try await eventually { limiter.usage(of: "e").waiting == 1 }
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        #expect(limiter.usage(of: "e") == (1, 0))
        limiter.release("e")
        #expect(limiter.usage(of: "e") == (0, 0))
    }
}

final class OrderRecorder: Sendable {
    private let box = NIOLockedValueBox<[Int]>([])
    func append(_ value: Int) { box.withLockedValue { $0.append(value) } }
    var values: [Int] { box.withLockedValue { $0 } }
}
