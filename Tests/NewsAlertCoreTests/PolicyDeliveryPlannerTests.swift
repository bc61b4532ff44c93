import Foundation
import NewsAlertCore
import Testing

@Suite struct PolicyDeliveryPlannerTests {
    typealias F = MatchingFixtures

    private let routine = Urgency(rawValue: 5) ?? .routine

    private func quiet(allowFlash: Bool = false) throws -> QuietHours {
        QuietHours(start: try #require(LocalTime(parsing: "22:00")), end: try #require(LocalTime(parsing: "07:00")), allowFlash: allowFlash)
    }

    private func planner(_ budget: Budget = .unlimited) throws -> DeliveryPlanner {
        DeliveryPlanner(timeZone: try F.zone("Europe/Berlin"), budget: budget)
    }

    private func reason(_ decision: DeliveryDecision) -> String {
        switch decision {
        case .now: ""
        case .holdUntil(_, let reason), .drop(let reason): reason
        }
    }

    @Test func immediateOutsideQuietHoursGoesNow() throws {
        let decision = try planner().decide(
            urgency: routine, delivery: .immediate, quietHours: try quiet(), recent: .none, now: try F.date("2025-06-10T12:00:00+02:00"))
        #expect(decision == .now)
    }

    @Test func quietHoursHoldUntilTheirLocalEnd() throws {
        let decision = try planner().decide(
            urgency: routine, delivery: .immediate, quietHours: try quiet(), recent: .none, now: try F.date("2025-03-29T23:30:00+01:00"))
        guard case .holdUntil(let until, let reason) = decision else {
            Issue.record("expected a hold, got \(decision)")
            return
        }
        #expect(until == (try F.date("2025-03-30T07:00:00+02:00")), "the end is 07:00 CEST on the spring-forward morning")
        #expect(reason == "quiet hours 22:00–07:00 (Europe/Berlin) until 07:00")
    }

    @Test func flashesPassQuietHoursOnlyWhenAllowed() throws {
        let night = try F.date("2025-06-10T23:30:00+02:00")
        let allowed = try planner().decide(urgency: .flash, delivery: .immediate, quietHours: try quiet(allowFlash: true), recent: .none, now: night)
        #expect(allowed == .now)
        let held = try planner().decide(urgency: .flash, delivery: .immediate, quietHours: try quiet(allowFlash: false), recent: .none, now: night)
        #expect(held == .holdUntil(try F.date("2025-06-11T07:00:00+02:00"), reason: "quiet hours 22:00–07:00 (Europe/Berlin) until 07:00"))
    }

    @Test func budgetDropsOnceUsedUp() throws {
        let noon = try F.date("2025-06-10T12:00:00+02:00")
        let budget = Budget(perHour: 5, perDay: 20, flashExceedsBudget: false)
        let underBudget = try planner(budget).decide(urgency: routine, delivery: .immediate, quietHours: nil, recent: RecentDeliveries(lastHour: 4, lastDay: 19), now: noon)
        #expect(underBudget == .now)
        let hourly = try planner(budget).decide(urgency: routine, delivery: .immediate, quietHours: nil, recent: RecentDeliveries(lastHour: 5, lastDay: 9), now: noon)
        #expect(hourly == .drop(reason: "hourly budget of 5 alerts used (5 in the last hour)"))
        let daily = try planner(budget).decide(urgency: routine, delivery: .immediate, quietHours: nil, recent: RecentDeliveries(lastHour: 1, lastDay: 20), now: noon)
        #expect(daily == .drop(reason: "daily budget of 20 alerts used (20 in the last 24 hours)"))
    }

    @Test func flashExceedsBudgetOnlyWhenConfigured() throws {
        let noon = try F.date("2025-06-10T12:00:00+02:00")
        let exhausted = RecentDeliveries(lastHour: 3, lastDay: 3)
        let lenient = try planner(Budget(perHour: 3, flashExceedsBudget: true))
        #expect(lenient.decide(urgency: .flash, delivery: .immediate, quietHours: nil, recent: exhausted, now: noon) == .now)
        #expect(reason(lenient.decide(urgency: routine, delivery: .immediate, quietHours: nil, recent: exhausted, now: noon)).contains("hourly budget"))
        let strict = try planner(Budget(perHour: 3, flashExceedsBudget: false))
        #expect(reason(strict.decide(urgency: .flash, delivery: .immediate, quietHours: nil, recent: exhausted, now: noon)).contains("hourly budget"))
    }

    @Test func quietHoursComeBeforeTheBudget() throws {
        let decision = try planner(Budget(perHour: 0)).decide(
            urgency: routine, delivery: .immediate, quietHours: try quiet(), recent: .none, now: try F.date("2025-06-10T23:30:00+02:00"))
        #expect(reason(decision).hasPrefix("quiet hours"), "held, then planned again (and budgeted) when the hold ends")
    }

    @Test func digestsWaitForTheNextLocalDigestTimeAndIgnoreTheBudget() throws {
        let exhausted = RecentDeliveries(lastHour: 100, lastDay: 100)
        let budgeted = try planner(Budget(perHour: 1, perDay: 1, flashExceedsBudget: false))
        let now = try F.date("2025-03-29T09:15:00+01:00")
        let hourly = budgeted.decide(urgency: routine, delivery: .digest(.hourly), quietHours: nil, recent: exhausted, now: now)
        #expect(hourly == .holdUntil(try F.date("2025-03-29T10:00:00+01:00"), reason: "hourly digest (Europe/Berlin) at 10:00"))
        let daily = budgeted.decide(
            urgency: .flash, delivery: .digest(.daily(at: try #require(LocalTime(parsing: "08:00")))), quietHours: nil, recent: exhausted, now: now)
        #expect(daily == .holdUntil(try F.date("2025-03-30T08:00:00+02:00"), reason: "daily at 08:00 digest (Europe/Berlin) at 08:00"))
    }

    @Test func digestDueInQuietHoursWaitsForTheirEnd() throws {
        let decision = try planner().decide(
            urgency: routine, delivery: .digest(.hourly), quietHours: try quiet(), recent: .none, now: try F.date("2025-06-10T21:40:00+02:00"))
        #expect(decision == .holdUntil(
            try F.date("2025-06-11T07:00:00+02:00"),
            reason: "hourly digest (Europe/Berlin) at 22:00 falls in quiet hours 22:00–07:00; sent at 07:00"))
    }

    @Test func decidesFromAValidatedRule() throws {
        let json = #"{"all": true, "quiet_hours": {"start": "22:00", "end": "07:00"}}"#
        let rule = try SubscriptionRule.decode(from: Data(json.utf8)).validate(timeZone: "America/New_York")
        let planner = DeliveryPlanner(timeZone: rule.timeZone)
        let decision = planner.decide(urgency: routine, rule: rule, recent: .none, now: try F.date("2025-06-10T23:00:00-04:00"))
        #expect(decision == .holdUntil(try F.date("2025-06-11T07:00:00-04:00"), reason: "quiet hours 22:00–07:00 (America/New_York) until 07:00"))
    }
}
