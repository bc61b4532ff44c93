import Foundation

/// When a digest subscription's collected items go out, on the subscriber's wall clock.
public enum DigestSchedule: Sendable, Hashable, CustomStringConvertible {
    /// At every top of the local hour.
    case hourly
    /// Once a local day at the given time.
    case daily(at: LocalTime)

    /// The next delivery time strictly after `date`, computed in `timeZone`.
    ///
    /// Hourly follows real local hours, so the repeated hour of a fall-back night gets its own digest. Daily fires
    /// once per local day: on a fall-back night the first occurrence of the time wins, and on a spring-forward day a
    /// skipped time (02:30 in Europe/Berlin) fires at the jump, when the clock first shows a later time.
    public func nextDelivery(after date: Date, timeZone: TimeZone) -> Date {
        switch self {
        case .hourly:
            let hour = ZonedClock.floorDiv(ZonedClock.local(ZonedClock.instant(date), in: timeZone), ZonedClock.secondsPerHour)
            let candidates = (hour - 1...hour + 2).map { $0 * ZonedClock.secondsPerHour }
            return ZonedClock.nextCrossing(of: candidates, after: date, in: timeZone)
                ?? date.addingTimeInterval(TimeInterval(ZonedClock.secondsPerHour))
        case .daily(let time):
            return ZonedClock.nextTimeOfDay(time.secondsIntoDay, after: date, firstOnly: true, in: timeZone)
        }
    }

    /// "hourly" or "daily at 08:00".
    public var description: String {
        switch self {
        case .hourly: "hourly"
        case .daily(let time): "daily at \(time)"
        }
    }
}
