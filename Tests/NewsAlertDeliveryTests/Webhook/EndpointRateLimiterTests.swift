@testable import NewsAlertDelivery
import Testing

@Suite struct EndpointRateLimiterTests {
    @Test func aBurstIsAllowedThenRequestsWaitTheirTurn() {
        let limiter = EndpointRateLimiter(ratePerSecond: 10, burst: 3)
        let now = ContinuousClock.now
        #expect((0..<3).map { _ in limiter.take("a", now: now) } == [nil, nil, nil])
        let wait = limiter.take("a", now: now)
        #expect(wait == .milliseconds(100), "one token every 100 ms")
        #expect(limiter.take("a", now: now + .milliseconds(100)) == nil)
    }

    @Test func endpointsHaveTheirOwnBuckets() {
        let limiter = EndpointRateLimiter(ratePerSecond: 1, burst: 1)
        let now = ContinuousClock.now
        #expect(limiter.take("a", now: now) == nil)
        #expect(limiter.take("a", now: now) != nil)
        #expect(limiter.take("b", now: now) == nil)
    }
}
