import NIOConcurrencyHelpers

/// A token bucket per endpoint: at most `ratePerSecond` requests a second to one endpoint (bursts up to `burst`),
/// so a subscriber's receiver is not flooded after an outage; other endpoints are not affected.
public final class EndpointRateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    public let ratePerSecond: Double
    public let burst: Double
    private let buckets = NIOLockedValueBox<[String: Bucket]>([:])

    public init(ratePerSecond: Double, burst: Double? = nil) {
        self.ratePerSecond = max(ratePerSecond, 0.001)
        self.burst = max(burst ?? ratePerSecond, 1)
    }

    /// Waits until `endpoint` may receive another request, then takes the permit.
    public func acquire(_ endpoint: String) async throws {
        while true {
            let wait = take(endpoint, now: ContinuousClock.now)
            guard let wait else { return }
            try await Task.sleep(for: wait)
        }
    }

    /// Takes a permit if one is available (nil), or says how long until the next one.
    func take(_ endpoint: String, now: ContinuousClock.Instant) -> Duration? {
        buckets.withLockedValue { buckets in
            var bucket = buckets[endpoint] ?? Bucket(tokens: burst, updated: now)
            let elapsed = now - bucket.updated
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            bucket.tokens = min(burst, bucket.tokens + seconds * ratePerSecond)
            bucket.updated = now
            defer { buckets[endpoint] = bucket }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return nil
            }
            return .milliseconds(Int(((1 - bucket.tokens) / ratePerSecond * 1000).rounded(.up)))
        }
    }
}
