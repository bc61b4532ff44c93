import Foundation
import Testing

import NewsAlertDelivery

@Suite("Retry schedule and Retry-After")
struct RetryScheduleTests {
    private func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    @Test("eight attempts by default; nil after the last", arguments: [UInt64(1), 42, 9_999])
    func exhaustion(seed: UInt64) {
        let schedule = RetrySchedule()
        var generator = SeededGenerator(seed: seed)
        #expect(schedule.maximumAttempts == 8)
        #expect(schedule.initialDelay(using: &generator) == .zero)
        for attempt in 1..<8 {
            #expect(schedule.delay(afterAttempt: attempt, using: &generator) != nil)
        }
        #expect(schedule.delay(afterAttempt: 8, using: &generator) == nil)
        #expect(schedule.delay(afterAttempt: 9, retryAfter: .seconds(1), using: &generator) == nil)
    }

    @Test("jitter stays within ±20 % and actually varies")
    func jitterBounds() {
        let schedule = RetrySchedule()
        var generator = SeededGenerator(seed: 7)
        for attempt in 1..<schedule.maximumAttempts {
            let nominal = seconds(schedule.delays[attempt])
            var seen: Set<Int64> = []
            for _ in 0..<500 {
                let delay = seconds(schedule.delay(afterAttempt: attempt, using: &generator)!)
                #expect(delay >= nominal * 0.8 - 0.001)
                #expect(delay <= nominal * 1.2 + 0.001)
                seen.insert(Int64(delay * 1000))
            }
            #expect(seen.count > 10)
        }
    }

    @Test("the same seed gives the same delays")
    func deterministic() {
        let schedule = RetrySchedule()
        var first = SeededGenerator(seed: 123)
        var second = SeededGenerator(seed: 123)
        let a = (1..<8).map { schedule.delay(afterAttempt: $0, using: &first) }
        let b = (1..<8).map { schedule.delay(afterAttempt: $0, using: &second) }
        #expect(a == b)
    }

    @Test("no jitter yields the configured delays exactly")
    func noJitter() {
        let schedule = RetrySchedule(delays: [.zero, .seconds(1), .seconds(2)], jitter: 0)
        var generator = SeededGenerator(seed: 1)
        #expect(schedule.delay(afterAttempt: 1, using: &generator) == .seconds(1))
        #expect(schedule.delay(afterAttempt: 2, using: &generator) == .seconds(2))
        #expect(schedule.delay(afterAttempt: 3, using: &generator) == nil)
    }

    @Test("Retry-After replaces a shorter delay, is ignored when shorter, and is capped")
    func retryAfter() {
        let schedule = RetrySchedule()
        var generator = SeededGenerator(seed: 5)
        // After attempt 1 the scheduled wait is about 5 s.
        #expect(schedule.delay(afterAttempt: 1, retryAfter: .seconds(600), using: &generator) == .seconds(600))
        let shorter = schedule.delay(afterAttempt: 1, retryAfter: .seconds(1), using: &generator)!
        #expect(shorter >= .seconds(4) && shorter <= .seconds(6))
        #expect(schedule.delay(afterAttempt: 1, retryAfter: .seconds(100 * 3600), using: &generator) == .seconds(24 * 3600))
        let capped = RetrySchedule(maximumRetryAfter: .seconds(60))
        let cappedDelay = capped.delay(afterAttempt: 1, retryAfter: .seconds(3600), using: &generator)!
        #expect(cappedDelay == .seconds(60))
    }

    @Test("Retry-After parses delta-seconds and all three HTTP-date forms")
    func retryAfterParsing() {
        let now = Date(timeIntervalSince1970: 1_445_412_400)  // Wed, 21 Oct 2015 07:26:40 GMT
        #expect(RetryAfter.parse("120", now: now) == .seconds(120))
        #expect(RetryAfter.parse(" 0 ", now: now) == .zero)
        #expect(RetryAfter.parse("Wed, 21 Oct 2015 07:28:00 GMT", now: now) == .seconds(80))
        #expect(RetryAfter.parse("Wednesday, 21-Oct-15 07:28:00 GMT", now: now) == .seconds(80))
        #expect(RetryAfter.parse("Wed Oct 21 07:28:00 2015", now: now) == .seconds(80))
        #expect(RetryAfter.parse("Tue, 20 Oct 2015 07:28:00 GMT", now: now) == .zero)
        #expect(RetryAfter.parse("-5", now: now) == nil)
        #expect(RetryAfter.parse("soon", now: now) == nil)
        #expect(RetryAfter.parse("", now: now) == nil)
    }

    @Test(
        "status codes are classified",
        arguments: [
            (200, WebhookAttemptOutcome.delivered), (204, .delivered), (299, .delivered),
            (410, .endpointGone),
            (301, .failed(.redirectNotFollowed(statusCode: 301))), (302, .failed(.redirectNotFollowed(statusCode: 302))),
            (307, .failed(.redirectNotFollowed(statusCode: 307))),
            (429, .failed(.rateLimited)),
            (500, .failed(.serverError(statusCode: 500))), (503, .failed(.serverError(statusCode: 503))),
            (400, .failed(.clientError(statusCode: 400))), (404, .failed(.clientError(statusCode: 404))),
            (101, .failed(.unexpectedStatus(101))),
        ]
    )
    func classification(statusCode: Int, expected: WebhookAttemptOutcome) {
        let outcome = WebhookAttemptOutcome.classify(statusCode: statusCode)
        #expect(outcome == expected)
        #expect(outcome.shouldRetry == (statusCode != 410 && !(200..<300).contains(statusCode)))
        #expect(outcome.honoursRetryAfter == (statusCode == 429 || statusCode >= 500))
    }
}
