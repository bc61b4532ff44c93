/// When to attempt a webhook delivery again.
///
/// ``delays`` lists the wait before each attempt: the first entry before attempt 1, the second
/// after attempt 1 failed, and so on, so there are `delays.count` attempts in all. Each wait is
/// varied by ±``jitter`` so that endpoints recovering from an outage are not hit in lockstep.
/// A `Retry-After` from the endpoint replaces the next wait when it is longer, up to
/// ``maximumRetryAfter``. After the last attempt there is no next wait: the message is dead-lettered.
public struct RetrySchedule: Sendable, Hashable {
    /// 0, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: eight attempts over about 27.5 hours.
    public static let defaultDelays: [Duration] = [
        .zero, .seconds(5), .seconds(5 * 60), .seconds(30 * 60),
        .seconds(2 * 3600), .seconds(5 * 3600), .seconds(10 * 3600), .seconds(10 * 3600),
    ]

    /// The wait before each attempt; the first applies to the first attempt.
    public var delays: [Duration]
    /// The relative variation of each wait, 0.2 meaning ±20 %.
    public var jitter: Double
    /// The longest `Retry-After` honoured; longer requests are cut to this.
    public var maximumRetryAfter: Duration

    /// Creates a schedule. `delays` must not be empty and `jitter` must be in 0..<1.
    public init(delays: [Duration] = defaultDelays, jitter: Double = 0.2, maximumRetryAfter: Duration = .seconds(24 * 3600)) {
        precondition(!delays.isEmpty, "a retry schedule needs at least one attempt")
        precondition((0..<1).contains(jitter), "jitter must be in 0..<1")
        precondition(delays.allSatisfy { $0 >= .zero }, "delays must not be negative")
        self.delays = delays
        self.jitter = jitter
        self.maximumRetryAfter = maximumRetryAfter
    }

    /// The number of attempts, first included.
    public var maximumAttempts: Int { delays.count }

    /// The wait before attempt 1 (normally zero), with jitter.
    public func initialDelay(using generator: inout some RandomNumberGenerator) -> Duration {
        jittered(delays[0], using: &generator)
    }

    /// The wait before the next attempt, given that `attempt` attempts (1-based) have been made and
    /// the last one failed; nil when `attempt` was the last one and the message should be dead-lettered.
    ///
    /// - Parameters:
    ///   - attempt: how many attempts have been made so far, at least 1.
    ///   - retryAfter: the endpoint's `Retry-After`, if it sent one; used when longer than the
    ///     scheduled wait, capped at ``maximumRetryAfter``.
    ///   - generator: the source of jitter; inject a seeded one in tests.
    public func delay(afterAttempt attempt: Int, retryAfter: Duration? = nil, using generator: inout some RandomNumberGenerator) -> Duration? {
        precondition(attempt >= 1, "attempts are counted from 1")
        guard attempt < delays.count else { return nil }
        let scheduled = jittered(delays[attempt], using: &generator)
        if let retryAfter, retryAfter > scheduled {
            return min(retryAfter, maximumRetryAfter)
        }
        return scheduled
    }

    /// ``delay(afterAttempt:retryAfter:using:)`` with the system random number generator.
    public func delay(afterAttempt attempt: Int, retryAfter: Duration? = nil) -> Duration? {
        var generator = SystemRandomNumberGenerator()
        return delay(afterAttempt: attempt, retryAfter: retryAfter, using: &generator)
    }

    private func jittered(_ delay: Duration, using generator: inout some RandomNumberGenerator) -> Duration {
        guard jitter > 0, delay > .zero else { return delay }
        let factor = 1 + Double.random(in: -jitter...jitter, using: &generator)
        let (seconds, attoseconds) = delay.components
        let total = (Double(seconds) + Double(attoseconds) / 1e18) * factor
        return .milliseconds(Int64((total * 1000).rounded()))
    }
}
