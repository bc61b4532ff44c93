import Foundation
import NewsAlertCore
import Testing

@Suite struct PolicyQuietHoursTests {
    typealias F = MatchingFixtures

    private func window(_ start: String, _ end: String) throws -> QuietHours {
        QuietHours(start: try #require(LocalTime(parsing: start)), end: try #require(LocalTime(parsing: end)))
    }

    @Test func spansMidnightOnTheLocalClock() throws {
        let berlin = try F.zone("Europe/Berlin")
        let night = try window("22:00", "07:00")
        #expect(!night.isQuiet(at: try F.date("2025-06-10T21:59:00+02:00"), timeZone: berlin))
        #expect(night.isQuiet(at: try F.date("2025-06-10T22:00:00+02:00"), timeZone: berlin))
        #expect(night.isQuiet(at: try F.date("2025-06-11T03:00:00+02:00"), timeZone: berlin))
        #expect(night.isQuiet(at: try F.date("2025-06-11T06:59:59+02:00"), timeZone: berlin))
        #expect(!night.isQuiet(at: try F.date("2025-06-11T07:00:00+02:00"), timeZone: berlin))
        #expect(night.nextEnd(after: try F.date("2025-06-10T23:30:00+02:00"), timeZone: berlin) == (try F.date("2025-06-11T07:00:00+02:00")))
        #expect(night.nextEnd(after: try F.date("2025-06-11T01:00:00+02:00"), timeZone: berlin) == (try F.date("2025-06-11T07:00:00+02:00")))
    }

    @Test func sameDayWindow() throws {
        let tokyo = try F.zone("Asia/Tokyo")
        let lunch = try window("12:00", "13:30")
        #expect(lunch.isQuiet(at: try F.date("2025-06-10T12:45:00+09:00"), timeZone: tokyo))
        #expect(!lunch.isQuiet(at: try F.date("2025-06-10T13:30:00+09:00"), timeZone: tokyo))
        #expect(!lunch.isQuiet(at: try F.date("2025-06-10T23:00:00+09:00"), timeZone: tokyo))
    }

    @Test func readsTheSubscribersZoneNotUTC() throws {
        let night = try window("22:00", "07:00")
        let instant = try F.date("2025-06-10T23:00:00Z")
        #expect(!night.isQuiet(at: instant, timeZone: try F.zone("Asia/Tokyo")), "08:00 in Tokyo")
        #expect(night.isQuiet(at: instant, timeZone: try F.zone("Europe/Berlin")), "01:00 in Berlin")
        #expect(!night.isQuiet(at: instant, timeZone: try F.zone("America/New_York")), "19:00 in New York")
    }

    @Test func springForwardNightIsAnHourShorter() throws {
        // Europe/Berlin, 2025-03-30: 02:00 CET jumps to 03:00 CEST.
        let berlin = try F.zone("Europe/Berlin")
        let night = try window("22:00", "07:00")
        let start = try F.date("2025-03-29T22:00:00+01:00")
        #expect(night.isQuiet(at: start, timeZone: berlin))
        #expect(night.isQuiet(at: try F.date("2025-03-30T03:30:00+02:00"), timeZone: berlin))
        let end = night.nextEnd(after: start, timeZone: berlin)
        #expect(end == (try F.date("2025-03-30T07:00:00+02:00")))
        #expect(end.timeIntervalSince(start) == 8 * 3_600)
    }

    @Test func windowEndingInsideTheSkippedHourEndsAtTheJump() throws {
        let berlin = try F.zone("Europe/Berlin")
        let early = try window("01:00", "02:30")
        let during = try F.date("2025-03-30T01:30:00+01:00")
        #expect(early.isQuiet(at: during, timeZone: berlin))
        let jump = try F.date("2025-03-30T03:00:00+02:00")
        #expect(early.nextEnd(after: during, timeZone: berlin) == jump)
        #expect(!early.isQuiet(at: jump, timeZone: berlin))
    }

    @Test func fallBackNightIsAnHourLonger() throws {
        // Europe/Berlin, 2025-10-26: 03:00 CEST falls back to 02:00 CET.
        let berlin = try F.zone("Europe/Berlin")
        let night = try window("22:00", "07:00")
        let start = try F.date("2025-10-25T22:00:00+02:00")
        let end = night.nextEnd(after: start, timeZone: berlin)
        #expect(end == (try F.date("2025-10-26T07:00:00+01:00")))
        #expect(end.timeIntervalSince(start) == 10 * 3_600)
    }

    @Test func repeatedHourIsQuietBothTimes() throws {
        // America/New_York, 2025-11-02: 02:00 EDT falls back to 01:00 EST, so 01:00–02:00 happens twice.
        let newYork = try F.zone("America/New_York")
        let night = try window("22:00", "01:30")
        let firstPass = try F.date("2025-11-02T01:10:00-04:00")
        #expect(night.isQuiet(at: firstPass, timeZone: newYork))
        #expect(night.nextEnd(after: firstPass, timeZone: newYork) == (try F.date("2025-11-02T01:30:00-04:00")))
        #expect(!night.isQuiet(at: try F.date("2025-11-02T01:45:00-04:00"), timeZone: newYork))
        let secondPass = try F.date("2025-11-02T01:10:00-05:00")
        #expect(night.isQuiet(at: secondPass, timeZone: newYork))
        #expect(night.nextEnd(after: secondPass, timeZone: newYork) == (try F.date("2025-11-02T01:30:00-05:00")))
    }

    @Test func newYorkSpringForward() throws {
        // America/New_York, 2025-03-09: 02:00 EST jumps to 03:00 EDT.
        let newYork = try F.zone("America/New_York")
        let night = try window("23:00", "06:00")
        let start = try F.date("2025-03-08T23:15:00-05:00")
        let end = night.nextEnd(after: start, timeZone: newYork)
        #expect(end == (try F.date("2025-03-09T06:00:00-04:00")))
        #expect(night.isQuiet(at: try F.date("2025-03-09T05:59:00-04:00"), timeZone: newYork))
        #expect(!night.isQuiet(at: end, timeZone: newYork))
    }
}
