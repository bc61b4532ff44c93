import Foundation
import NewsAlertCore
import Testing

@Suite struct PolicyDigestScheduleTests {
    typealias F = MatchingFixtures

    private func daily(_ time: String) throws -> DigestSchedule {
        .daily(at: try #require(LocalTime(parsing: time)))
    }

    @Test func hourlyFollowsLocalHoursInAHalfHourZone() throws {
        let kolkata = try F.zone("Asia/Kolkata")
        let next = DigestSchedule.hourly.nextDelivery(after: try F.date("2025-06-10T10:10:00+05:30"), timeZone: kolkata)
        #expect(next == (try F.date("2025-06-10T11:00:00+05:30")))
        let onTheHour = DigestSchedule.hourly.nextDelivery(after: next, timeZone: kolkata)
        #expect(onTheHour == (try F.date("2025-06-10T12:00:00+05:30")), "strictly after")
    }

    @Test func hourlyAcrossSpringForward() throws {
        let berlin = try F.zone("Europe/Berlin")
        let next = DigestSchedule.hourly.nextDelivery(after: try F.date("2025-03-30T01:30:00+01:00"), timeZone: berlin)
        #expect(next == (try F.date("2025-03-30T03:00:00+02:00")), "02:00 does not exist; the next top of the hour is 03:00")
    }

    @Test func hourlyGivesTheRepeatedHourItsOwnDigest() throws {
        let newYork = try F.zone("America/New_York")
        let first = DigestSchedule.hourly.nextDelivery(after: try F.date("2025-11-02T00:30:00-04:00"), timeZone: newYork)
        #expect(first == (try F.date("2025-11-02T01:00:00-04:00")))
        let second = DigestSchedule.hourly.nextDelivery(after: first, timeZone: newYork)
        #expect(second == (try F.date("2025-11-02T01:00:00-05:00")))
        let third = DigestSchedule.hourly.nextDelivery(after: second, timeZone: newYork)
        #expect(third == (try F.date("2025-11-02T02:00:00-05:00")))
    }

    @Test func dailyAtEightAcrossSpringForward() throws {
        let berlin = try F.zone("Europe/Berlin")
        let schedule = try daily("08:00")
        let next = schedule.nextDelivery(after: try F.date("2025-03-29T09:00:00+01:00"), timeZone: berlin)
        #expect(next == (try F.date("2025-03-30T08:00:00+02:00")))
        #expect(next == (try F.date("2025-03-30T06:00:00Z")))
        let after = schedule.nextDelivery(after: next, timeZone: berlin)
        #expect(after.timeIntervalSince(next) == 24 * 3_600)
    }

    @Test func dailyAtEightAcrossFallBack() throws {
        let newYork = try F.zone("America/New_York")
        let schedule = try daily("08:00")
        let before = try F.date("2025-11-01T09:00:00-04:00")
        let next = schedule.nextDelivery(after: before, timeZone: newYork)
        #expect(next == (try F.date("2025-11-02T08:00:00-05:00")))
        #expect(next.timeIntervalSince(before) == 24 * 3_600, "23 local hours plus the repeated one")
    }

    @Test func dailyAtASkippedTimeFiresAtTheJump() throws {
        let berlin = try F.zone("Europe/Berlin")
        let next = try daily("02:30").nextDelivery(after: try F.date("2025-03-29T12:00:00+01:00"), timeZone: berlin)
        #expect(next == (try F.date("2025-03-30T03:00:00+02:00")))
    }

    @Test func dailyAtARepeatedTimeFiresOnce() throws {
        let newYork = try F.zone("America/New_York")
        let schedule = try daily("01:30")
        let first = schedule.nextDelivery(after: try F.date("2025-11-02T00:00:00-04:00"), timeZone: newYork)
        #expect(first == (try F.date("2025-11-02T01:30:00-04:00")))
        let second = schedule.nextDelivery(after: first, timeZone: newYork)
        #expect(second == (try F.date("2025-11-03T01:30:00-05:00")), "not again at 01:30 EST the same night")
    }
}
