import Foundation

/// Decides, for one match, whether a subscriber gets the alert now, later, or not at all.
///
/// Pure and deterministic: everything it depends on (the clock, the subscriber's zone, budget and recent counts)
/// is passed in. Held items should be planned again when their hold expires; the budget is checked then, so a
/// burst released at the end of quiet hours still respects it.
public struct DeliveryPlanner: Sendable {
    /// The subscriber's IANA time zone; quiet hours and digest times are read on this wall clock.
    public var timeZone: TimeZone
    /// The subscriber's cap across all of their rules.
    public var budget: Budget

    public init(timeZone: TimeZone, budget: Budget = .unlimited) {
        self.timeZone = timeZone
        self.budget = budget
    }

    /// The decision for an item of `urgency` matched by a rule with `delivery` and `quietHours`, at `now`.
    ///
    /// Digest items wait for the next digest time (pushed past quiet hours when it falls inside them) and do not
    /// count against the budget. Immediate items wait out quiet hours unless they are flashes the window lets
    /// through, then are dropped when the budget is used up, unless they are flashes allowed to exceed it.
    public func decide(
        urgency: Urgency, delivery: DeliveryMode, quietHours: QuietHours?, recent: RecentDeliveries, now: Date
    ) -> DeliveryDecision {
        let isFlash = urgency == .flash
        if case .digest(let schedule) = delivery {
            return holdForDigest(schedule, quietHours: quietHours, now: now)
        }
        if let quietHours, quietHours.isQuiet(at: now, timeZone: timeZone), !(isFlash && quietHours.allowFlash) {
            let end = quietHours.nextEnd(after: now, timeZone: timeZone)
            return .holdUntil(end, reason: "quiet hours \(quietHours) (\(timeZone.identifier)) until \(clock(end))")
        }
        if let exhausted = budget.exhaustion(given: recent), !(isFlash && budget.flashExceedsBudget) {
            return .drop(reason: exhausted)
        }
        return .now
    }

    /// The decision for an item of `urgency` matched by `rule`, using the rule's delivery mode and quiet hours.
    public func decide(urgency: Urgency, rule: ValidatedRule, recent: RecentDeliveries, now: Date) -> DeliveryDecision {
        decide(urgency: urgency, delivery: rule.delivery, quietHours: rule.quietHours, recent: recent, now: now)
    }

    private func holdForDigest(_ schedule: DigestSchedule, quietHours: QuietHours?, now: Date) -> DeliveryDecision {
        let due = schedule.nextDelivery(after: now, timeZone: timeZone)
        let reason = "\(schedule) digest (\(timeZone.identifier)) at \(clock(due))"
        guard let quietHours, quietHours.isQuiet(at: due, timeZone: timeZone) else {
            return .holdUntil(due, reason: reason)
        }
        let end = quietHours.nextEnd(after: due, timeZone: timeZone)
        return .holdUntil(end, reason: "\(reason) falls in quiet hours \(quietHours); sent at \(clock(end))")
    }

    private func clock(_ date: Date) -> String {
        ZonedClock.clockText(date, in: timeZone)
    }
}
