import Foundation

/// A daily window, in the subscriber's local time, during which alerts wait instead of being sent.
///
/// The window is `start..<end` on the wall clock and may span midnight (`22:00`–`07:00`). It follows the clock,
/// not elapsed time: on a spring-forward night it is an hour shorter, and on a fall-back night a repeated hour
/// inside the window is quiet both times. `start == end` would be an empty window; validation rejects it.
public struct QuietHours: Sendable, Hashable, CustomStringConvertible {
    public let start: LocalTime
    public let end: LocalTime
    /// When true, flash items (urgency 1) are sent even inside the window.
    public let allowFlash: Bool

    public init(start: LocalTime, end: LocalTime, allowFlash: Bool = false) {
        self.start = start
        self.end = end
        self.allowFlash = allowFlash
    }

    /// True when the subscriber's wall clock at `date` is inside the window.
    public func isQuiet(at date: Date, timeZone: TimeZone) -> Bool {
        contains(secondOfDay: ZonedClock.secondOfDay(date, in: timeZone))
    }

    /// The first instant after `date` at which the wall clock reaches `end` (or jumps past it on a DST change).
    ///
    /// When `date` is quiet, this is when the quiet period around it ends.
    public func nextEnd(after date: Date, timeZone: TimeZone) -> Date {
        ZonedClock.nextTimeOfDay(end.secondsIntoDay, after: date, in: timeZone)
    }

    /// "22:00–07:00".
    public var description: String { "\(start)–\(end)" }

    func contains(secondOfDay: Int) -> Bool {
        let from = start.secondsIntoDay
        let until = end.secondsIntoDay
        if from < until { return from <= secondOfDay && secondOfDay < until }
        if from > until { return secondOfDay >= from || secondOfDay < until }
        return false
    }
}
